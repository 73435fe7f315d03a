-- Photographs posted without a read (issue 29): each frame's outcome, written in the transaction that stores
-- its reads, so `FRAME_STATUS` never names a read that is not stored, nor misses one that is.
-- Not partitioned: a frame row is kept 7 days at most (the retention job deletes it then, or as soon as its
-- reads are purged), so the table holds a week of frames. `read_ids` name reads in the day-partitioned
-- `reads` table, whose key is (read_id, captured_at): no foreign key can point at it, so the purge looks.

CREATE TABLE frames (
    frame_id text PRIMARY KEY,
    agency text NOT NULL,
    camera_id text NOT NULL,
    status text NOT NULL CHECK (status IN ('read', 'no_plate', 'failed')),
    read_ids text[] NOT NULL DEFAULT '{}',
    plates text[] NOT NULL DEFAULT '{}',  -- personal data: the plate each read holds, in read_ids' order
    error_code text,
    received_at timestamptz NOT NULL,
    -- the capture time every read of the frame carries: the purge looks for them in that day's partition alone
    captured_at timestamptz NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(read_ids) = cardinality(plates)),
    CHECK ((status = 'read') = (cardinality(read_ids) > 0)),
    CHECK ((status = 'failed') = (error_code IS NOT NULL))
);
-- the purge deletes by age
CREATE INDEX frames_received ON frames (received_at);

ALTER TABLE frames OWNER TO alpr_records;
