-- Issue 31: records inserts a bundle of reads as one array of this row type (one value a read) instead of
-- one array a column: asyncpg encodes every element of every array apart, asking of each whether it is
-- itself an array, so 37 arrays cost records 20-22 µs a read of client CPU on a 1,000-read insert, one
-- array of rows 14-15 (docs/capacity.md, issue 31).
--
-- The type is the insert's own, not the table's row type, which changes under running pods whenever a
-- migration adds a column. It is versioned with the column list of the code that sends it
-- (services/records/repository/reads.py): a migration that adds a column to reads creates
-- reads_insert_v2 with it and the new code sends v2, while pods of the old image keep sending v1 until they
-- are gone; a later migration may then drop v1. A type is never altered in place.
-- Documents (jsonb columns) travel as text and flags as one comma-joined text, as they did in the arrays:
-- the insert casts and splits them.

CREATE TYPE reads_insert_v1 AS (
    read_id uuid,
    captured_at timestamptz,
    agency text,
    camera_id text,
    plate text,
    plate_raw text,
    lookalike_key text,
    state text,
    confidence float8,
    confidence_raw text,
    candidates text,
    our_plate text,
    our_confidence float8,
    our_char_confidences text,
    our_candidates text,
    our_model text,
    latitude float8,
    longitude float8,
    heading real,
    plate_box text,
    plate_polygon text,
    vehicle text,
    vendor text,
    vendor_format text,
    raw_body text,
    flags text,
    has_image bool,
    hotlist_hit bool,
    our_lookalike_key text,
    location_from_camera bool,
    vehicle_make text,
    vehicle_model text,
    vehicle_color text,
    vehicle_body_type text,
    vehicle_year_from int2,
    vehicle_year_to int2,
    vehicle_attributes text
);

ALTER TYPE reads_insert_v1 OWNER TO alpr_records;
