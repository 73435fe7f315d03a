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

-- Defined on the parent, so every daily partition gets its own (attached partitions build theirs in bulk);
-- the partition is the day, so the time needs no key. A witness names a colour and a body type more often than
-- a make: one index leads with the make, one with the colour; both end in the position, so an area's box is
-- met inside the index and only reads in it are fetched (bench/search.py, 600,000 reads over 60 days, a
-- white Toyota SUV in a 4 km box over 30 days: 123 ms and 2,959 pages read with (..., captured_at DESC)
-- keys, 2.4 ms and 137 pages with (..., latitude, longitude)). Only reads that carry the leading attribute are
-- indexed: a vendor that sends no vehicle costs these indexes nothing.
CREATE INDEX reads_vehicle_make_place ON reads (vehicle_make, vehicle_color, vehicle_body_type, latitude, longitude)
    WHERE vehicle_make IS NOT NULL;
CREATE INDEX reads_vehicle_color_place ON reads (vehicle_color, vehicle_body_type, latitude, longitude)
    WHERE vehicle_color IS NOT NULL;
