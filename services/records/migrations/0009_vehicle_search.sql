-- Search by vehicle (issue #30 item 2): the vehicle as our shared vocabulary names it
-- (libs/common/contracts/vehicles.py), one column per searched attribute, filled at ingest; the whole
-- normalized description (raw vendor values and confidences kept) beside them for the results to show.
-- Reads stored before this migration keep their vendor's `vehicle` only and are not found by a vehicle search.

ALTER TABLE reads
    ADD COLUMN vehicle_make text,
    ADD COLUMN vehicle_model text,
    ADD COLUMN vehicle_color text,
    ADD COLUMN vehicle_body_type text,
    ADD COLUMN vehicle_year_from smallint,
    ADD COLUMN vehicle_year_to smallint,
    ADD COLUMN vehicle_attributes jsonb;
-- held copies take every column their read has (retention copies the columns both tables share)
ALTER TABLE held_reads
    ADD COLUMN vehicle_make text,
    ADD COLUMN vehicle_model text,
    ADD COLUMN vehicle_color text,
    ADD COLUMN vehicle_body_type text,
    ADD COLUMN vehicle_year_from smallint,
    ADD COLUMN vehicle_year_to smallint,
    ADD COLUMN vehicle_attributes jsonb;

-- Defined on the parent, so every daily partition gets its own (attached partitions build theirs in bulk).
-- A witness names a colour and a body type far more often than a make: one index leads with the make (its
-- colour and body type narrow it further when given), one with the colour; both end in the capture time, so
-- a search takes the newest matches of each day in order and stops at its page. Only reads that carry the
-- leading attribute are indexed: a vendor that sends no vehicle costs these indexes nothing.
CREATE INDEX reads_vehicle_make_time ON reads (vehicle_make, vehicle_color, vehicle_body_type, captured_at DESC)
    WHERE vehicle_make IS NOT NULL;
CREATE INDEX reads_vehicle_color_time ON reads (vehicle_color, vehicle_body_type, captured_at DESC)
    WHERE vehicle_color IS NOT NULL;
