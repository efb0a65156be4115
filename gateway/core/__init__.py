"""Provider-neutral model shared by the API layer and the callers."""
