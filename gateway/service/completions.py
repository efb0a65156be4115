"""Legacy text completions on providers without a native call: through chat, one call per prompt.

OpenAI numbers the choices of a several-prompt request prompt by prompt: prompt ``i``'s choice
``j`` has index ``i * n + j``. The merged usage is the sum of the calls' usage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gateway.core.requests import ChatCall, TextCall
from gateway.core.results import ChatResult, Choice, Usage
from gateway.errors import InvalidRequestError


def chats_for(call: TextCall, provider: str, *, stream: bool) -> tuple[ChatCall, ...]:
    """The chat calls that answer ``call`` on ``provider``; raises ``InvalidRequestError`` naming the
    field when a translation cannot honour it (a stream takes one prompt)."""
    if call.refused is not None:
        raise InvalidRequestError(
            f"'{call.refused}' is not supported by provider '{provider}', which answers completions "
            "through chat; remove it or use a provider with native completions.",
            param=call.refused, code="unsupported_parameter")
    if stream and len(call.chats) > 1:
        raise InvalidRequestError(
            f"Provider '{provider}' streams one prompt per request; send the prompts separately.",
            param="prompt", code="unsupported_parameter")
    return call.chats


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


def _sum(usages: Sequence[Usage]) -> Usage:
    total = Usage()
    for usage in usages:
        total = Usage(_add(total.input_tokens, usage.input_tokens), _add(total.output_tokens, usage.output_tokens),
                      _add(total.total, usage.total), _add(total.cached_input_tokens, usage.cached_input_tokens),
                      _add(total.reasoning_tokens, usage.reasoning_tokens))
    return total


def merged(results: Sequence[ChatResult]) -> ChatResult:
    """One result for the prompts' results, in prompt order, choices renumbered as OpenAI does."""
    if len(results) == 1:
        return results[0]
    choices: list[Choice] = []
    offset = 0
    for result in results:
        choices.extend(replace(c, index=offset + c.index) for c in result.choices)
        offset += max((c.index for c in result.choices), default=-1) + 1
    first = results[0]
    return ChatResult(choices=tuple(choices), usage=_sum([r.usage for r in results]), model=first.model,
                      provider_request_id=first.provider_request_id)

