"""The shipped policy (POLICY.md) and the pure rules that read a stated purpose against it."""
