"""The OpenAI Responses API at the gateway's edge: wire models, translation to a neutral
``ChatCall``, and rendering of neutral results as Response objects and stream events."""
