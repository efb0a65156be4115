"""Orchestration between the API layer and the callers."""
