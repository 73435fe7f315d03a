-- D2: training covers the policy's five topics. A record lists the topics it covered; a person's
-- training_expires_at is the earliest, over the five, of the latest expiry of a record covering it.
ALTER TABLE training_records ADD COLUMN topics text[] NOT NULL DEFAULT '{}'
    CHECK (topics <@ ARRAY['legal_authority', 'policy', 'technology', 'data_security', 'practical_use']::text[]);
ALTER TABLE training_records ALTER COLUMN topics DROP DEFAULT;

-- Records made before topics were kept do not show what they covered, so they cover none: whoever was
-- trained by them alone needs a record listing its topics (until then access is refused as untrained).
-- People given a training date directly (the development seed) are left as they are.
UPDATE persons SET training_expires_at = NULL WHERE sub IN (SELECT sub FROM training_records);
