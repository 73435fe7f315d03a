"""OAuth 2.0 for partner agencies, shared by sharing (which issues tokens) and the gateway (which checks them)."""
