-- A read's alerts by the read, whatever their listed plate (alerts_read_plate covers only those with one):
-- a final taking over its previews' alerts, the drop of a preview an alert points at, and a correction
-- checking which plates its read already alerted on each ask by read id, in ingest's or the desk's transaction.
CREATE INDEX alerts_read ON alerts (read_id);
