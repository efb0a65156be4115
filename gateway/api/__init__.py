"""HTTP API: routes, OpenAI rendering, SSE framing and error handlers."""
