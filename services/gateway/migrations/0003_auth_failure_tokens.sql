-- D4: a failed sign-in names the token it came with, so a replay of one token counts once toward the lockout.
ALTER TABLE auth_failures ADD COLUMN token_digest text;
CREATE INDEX auth_failures_sub_token ON auth_failures (sub, token_digest);
