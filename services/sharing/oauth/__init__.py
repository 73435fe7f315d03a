"""OAuth 2.0 client-credentials tokens for partner agencies under an agreement."""
