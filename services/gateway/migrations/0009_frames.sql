-- Photographs a camera posted to POST /v1/ingest/image (issue 29): which camera posted which frame, so that
-- GET /v1/ingest/image/{frame_id} answers only the camera that posted it (another camera's id and an unknown id
-- get the same 404). Records keeps each frame's outcome; this table only holds who may ask, for a week at most:
-- frames.py deletes older rows as it inserts new ones (POLICY.md: nothing kept past its use).
CREATE TABLE frames (
    frame_id text PRIMARY KEY,
    agency text NOT NULL,
    camera_id text NOT NULL,
    accepted_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX frames_accepted_at ON frames (accepted_at);
GRANT SELECT, INSERT, DELETE ON frames TO alpr_gateway;
