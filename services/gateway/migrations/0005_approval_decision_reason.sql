-- A broad-search approval keeps why it was granted or refused beside who decided, as agreement proposals do:
-- a denial is recorded with its reason wherever an approval is. NULL for decisions made in the old shape.
ALTER TABLE approvals ADD COLUMN decision_reason text;
