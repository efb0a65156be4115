"""Where Hugging Face lives: the Inference Providers router, the Hub, HF Inference.

Three hosts serve what the gateway needs (Hugging Face docs, "Inference
Providers"):

* chat: the router's OpenAI-compatible API, ``https://router.huggingface.co/v1``
  (``POST /chat/completions``; model ids such as ``meta-llama/Llama-3.1-8B-Instruct``,
  optionally suffixed ``:<provider>``, ``:fastest`` or ``:cheapest``);
* feature extraction: the ``hf-inference`` provider behind the router,
  ``https://router.huggingface.co/hf-inference`` (``POST /models/{model}/pipeline/feature-extraction``);
* the Hub, ``https://huggingface.co`` (``GET /api/whoami-v2``).

The credential key ``base_url`` moves the chat API; when it is set and
``hub_url`` / ``inference_url`` are not, those two are derived from it (its
root, i.e. ``base_url`` without a trailing ``/v1``), so one override points the
whole provider at another host. A ``base_url`` without ``/v1`` is taken to be
that root. Point ``base_url`` at a dedicated endpoint (TGI, Inference
Endpoints) and set ``hub_url`` too, or verification goes to that endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.callers.base import Credential
from gateway.callers.openai.wire import OpenAIWire, Quirks

NAME = "huggingface"

ROUTER_URL = "https://router.huggingface.co"
DEFAULT_CHAT_URL = ROUTER_URL + "/v1"
DEFAULT_INFERENCE_URL = ROUTER_URL + "/hf-inference"
DEFAULT_HUB_URL = "https://huggingface.co"

# The router's chat-completion spec (hub-docs, tasks/chat-completion) names
# ``max_tokens`` (not ``max_completion_tokens``), accepts ``stream_options.include_usage``,
# documents no ``developer`` role and has no embeddings ``dimensions``.
CHAT_QUIRKS = Quirks(stream_usage=True, max_tokens_field="max_tokens", developer_role=False,
                     embedding_dimensions=False)


@dataclass(frozen=True, slots=True)
class Endpoints:
    chat: str
    inference: str
    hub: str


def endpoints(credential: Credential) -> Endpoints:
    """The three base URLs for ``credential`` (see the module docstring)."""
    base = (credential.get("base_url") or "").rstrip("/")
    if base:
        root = base.removesuffix("/v1")
        chat, inference, hub = root + "/v1", root + "/hf-inference", root
    else:
        chat, inference, hub = DEFAULT_CHAT_URL, DEFAULT_INFERENCE_URL, DEFAULT_HUB_URL
    return Endpoints(
        chat=chat,
        inference=(credential.get("inference_url") or inference).rstrip("/"),
        hub=(credential.get("hub_url") or hub).rstrip("/"),
    )


def auth_headers(credential: Credential) -> dict[str, str]:
    """``Authorization: Bearer <HF token>``, the one auth scheme of every HF API."""
    return {"authorization": f"Bearer {credential.require('key', NAME)}"}


def chat_wire(credential: Credential) -> OpenAIWire:
    """The OpenAI-format wire of the router, for the reused OpenAI caller classes."""
    return OpenAIWire(provider=NAME, base_url=endpoints(credential).chat, headers=auth_headers(credential),
                      quirks=CHAT_QUIRKS)
