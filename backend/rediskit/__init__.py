"""Redis: the client the app shares, and the embedded redis-server used when no URL is set."""
