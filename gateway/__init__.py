"""gateway: an OpenAI-compatible HTTP gateway in front of many AI providers."""

__version__ = "0.1.0"
