"""The Anthropic Messages wire format at the API edge: request models, translation to the
neutral ``ChatCall``, rendering of neutral results and events, and the error envelope."""
