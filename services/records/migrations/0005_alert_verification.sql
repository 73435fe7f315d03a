-- E2: verification that cannot be skipped, and one alert per read per listed plate.
-- An officer's look at an alert's image, as the gateway recorded it (view_id = the audit record's event id):
-- a verification names the view it relied on.
CREATE TABLE alert_image_views (
    view_id uuid PRIMARY KEY,
    alert_id uuid NOT NULL REFERENCES alerts (alert_id),
    officer_sub text NOT NULL,
    viewed_at timestamptz NOT NULL,
    image_kind text NOT NULL,
    event_ids uuid[] NOT NULL
);

CREATE INDEX alert_image_views_officer ON alert_image_views (alert_id, officer_sub, viewed_at DESC);

-- a supervisor's reopening of an alert left investigate_only, with the reason
CREATE TABLE alert_reopenings (
    reopening_id uuid PRIMARY KEY,
    alert_id uuid NOT NULL REFERENCES alerts (alert_id),
    supervisor_sub text NOT NULL,
    reopened_at timestamptz NOT NULL,
    reason text NOT NULL
);

CREATE INDEX alert_reopenings_alert ON alert_reopenings (alert_id, reopened_at);

ALTER TABLE alert_verifications ADD COLUMN image_view_id uuid REFERENCES alert_image_views (view_id);
-- why a verification left the alert investigate_only (empty when it confirmed)
ALTER TABLE alert_verifications ADD COLUMN reasons text[] NOT NULL DEFAULT '{}';

-- one alert per read and listed plate, whatever the number of entries listing it (older alerts: one per entry)
ALTER TABLE alerts ADD COLUMN listed_plate text;
CREATE UNIQUE INDEX alerts_read_plate ON alerts (read_id, listed_plate) WHERE listed_plate IS NOT NULL;

ALTER TABLE alert_image_views OWNER TO alpr_records;
ALTER TABLE alert_reopenings OWNER TO alpr_records;
