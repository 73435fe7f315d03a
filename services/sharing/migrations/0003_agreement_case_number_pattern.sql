-- An agreement may carry its partner's case-number format (a regular expression, ASCII digits only when
-- matched); NULL means the department's own format. Checked for size here, for safety by the service.
ALTER TABLE agreements ADD COLUMN case_number_pattern text
    CHECK (case_number_pattern IS NULL OR length(case_number_pattern) BETWEEN 1 AND 200);
