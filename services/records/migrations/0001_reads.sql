-- Reads and their images, partitioned by capture day so retention drops whole partitions.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TABLE reads (
    read_id uuid NOT NULL,
    captured_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    agency text NOT NULL,
    camera_id text NOT NULL,
    plate text,
    plate_raw text,
    lookalike_key text,
    state text,
    confidence double precision,
    confidence_raw text,
    candidates jsonb NOT NULL DEFAULT '[]',
    our_plate text,
    our_confidence double precision,
    our_char_confidences jsonb,
    our_candidates jsonb,
    our_model text,
    latitude double precision,
    longitude double precision,
    heading real,
    plate_box jsonb,
    plate_polygon jsonb,
    vehicle jsonb NOT NULL DEFAULT '{}',
    vendor text NOT NULL,
    vendor_format text NOT NULL,
    raw_body text,
    flags text[] NOT NULL DEFAULT '{}',
    has_image boolean NOT NULL DEFAULT false,
    hotlist_hit boolean NOT NULL DEFAULT false,
    version integer NOT NULL DEFAULT 1,
    supersedes uuid,
    PRIMARY KEY (read_id, captured_at)
) PARTITION BY RANGE (captured_at);

CREATE INDEX reads_plate_time ON reads (plate, captured_at DESC);
CREATE INDEX reads_lookalike_time ON reads (lookalike_key, captured_at DESC);
CREATE INDEX reads_plate_trgm ON reads USING gin (plate public.gin_trgm_ops);
CREATE INDEX reads_time ON reads (captured_at DESC, read_id DESC);

CREATE TABLE read_images (
    read_id uuid NOT NULL,
    captured_at timestamptz NOT NULL,
    kind text NOT NULL,
    content_type text NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (read_id, captured_at, kind)
) PARTITION BY RANGE (captured_at);

-- the service role owns its tables: it must create and drop daily partitions
ALTER TABLE reads OWNER TO alpr_records;
ALTER TABLE read_images OWNER TO alpr_records;
GRANT CREATE ON SCHEMA records TO alpr_records;
GRANT SELECT ON schema_migrations TO alpr_records;
