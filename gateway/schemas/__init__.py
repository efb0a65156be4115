"""The public wire contract: OpenAI-compatible request bodies (pydantic v2)."""
