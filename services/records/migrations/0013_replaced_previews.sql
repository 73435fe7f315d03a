-- A vendor preview read that its final has replaced (OpenALPR groups: same vehicle, the final decided).
-- Records drops a stored preview when its final arrives; a preview arriving after its final (the agent
-- retrying a post) is skipped by its id here, so one vehicle is never stored, nor alerted on, twice.
-- Only ids and the final's capture time: the purge deletes the rows past the cutoff with the reads.
CREATE TABLE replaced_previews (
    read_id uuid PRIMARY KEY,
    captured_at timestamptz NOT NULL
);

CREATE INDEX replaced_previews_captured ON replaced_previews (captured_at);

ALTER TABLE replaced_previews OWNER TO alpr_records;
