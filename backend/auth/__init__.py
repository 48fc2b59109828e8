"""Authentication (JWT access tokens, rotating refresh tokens, revocation) and permissions."""
