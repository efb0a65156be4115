"""The gateway's error hierarchy; every error renders as the OpenAI envelope.

::

    GatewayError                      500 server_error
    +-- InvalidRequestError           400 invalid_request_error
    |   +-- UnsupportedParameterError 400 (param names the field)
    +-- AuthenticationError           401 authentication_error
    +-- PermissionDeniedError         403 permission_error
    +-- NotFoundError                 404 not_found_error (model_not_found)
    +-- PayloadTooLargeError          413 invalid_request_error
    +-- RateLimitError                429 rate_limit_error (retry_after seconds)
    +-- UpstreamError                 from the provider's HTTP status (see ``from_upstream_status``)
    +-- UpstreamTimeoutError          504 timeout_error
    +-- ServiceUnavailableError       503 service_unavailable

Callers raise these (chained with ``raise ... from``); the API layer renders them.
Errors are classified by HTTP status and structured provider fields, never by
matching message text.

Every error says where it came from (``source``), which decides retries and fallbacks
(``gateway.service.resilience``): ``upstream`` (the provider answered with an error, or could not
be reached: retried when its status allows, counts towards a deployment's cooldown),
``deployment`` (this deployment cannot serve, e.g. its credential is missing: the next one is
tried, nothing is retried) or ``gateway`` (the request or the gateway itself: final).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

Source = Literal["upstream", "deployment", "gateway"]


class GatewayError(Exception):
    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    default_source: ClassVar[Source] = "gateway"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status_code: int | None = None,
        provider: str | None = None,
        retry_after: float | None = None,
        source: Source | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.provider = provider
        self.retry_after = retry_after
        self.source: Source = source or self.default_source
        if status_code is not None:
            self.status = status_code
        else:
            self.status = self.status_code

    def envelope(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"retry-after": str(max(0, round(self.retry_after)))}


class InvalidRequestError(GatewayError):
    status_code = 400
    error_type = "invalid_request_error"


class UnsupportedParameterError(InvalidRequestError):
    def __init__(self, field: str, provider: str, reason: str | None = None) -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(
            f"Parameter '{field}' is not supported by provider '{provider}'{detail}. "
            "Remove it, or let the operator enable GATEWAY_DROP_UNSUPPORTED_PARAMS.",
            param=field,
            code="unsupported_parameter",
            provider=provider,
        )


def missing_credential(message: str, provider: str) -> AuthenticationError:
    """A deployment without the credential it needs: a failed attempt that falls back."""
    return AuthenticationError(message, code="missing_provider_credential", provider=provider, source="deployment")


class AuthenticationError(GatewayError):
    status_code = 401
    error_type = "authentication_error"


class PermissionDeniedError(GatewayError):
    status_code = 403
    error_type = "permission_error"


class NotFoundError(GatewayError):
    status_code = 404
    error_type = "not_found_error"


class PayloadTooLargeError(GatewayError):
    status_code = 413
    error_type = "invalid_request_error"


class RateLimitError(GatewayError):
    status_code = 429
    error_type = "rate_limit_error"


class UpstreamError(GatewayError):
    """The provider answered with an error; ``status`` is what the client gets."""

    status_code = 502
    error_type = "upstream_error"
    default_source = "upstream"


class UpstreamTimeoutError(GatewayError):
    status_code = 504
    error_type = "timeout_error"
    default_source = "upstream"


class ServiceUnavailableError(GatewayError):
    status_code = 503
    error_type = "service_unavailable"


UPSTREAM: Source = "upstream"

_BY_STATUS: dict[int, type[GatewayError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: PayloadTooLargeError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def from_upstream_status(
    status: int,
    message: str,
    *,
    provider: str,
    code: str | None = None,
    param: str | None = None,
    retry_after: float | None = None,
) -> GatewayError:
    """Map a provider's HTTP error status to the error the client receives.

    4xx statuses the OpenAI SDK knows keep their status (so its exception class
    matches); other 4xx become 400; 5xx and anything else become 502, since the
    fault is upstream of the gateway. 503 and 529 (overloaded) stay 503.
    """
    prefix = f"{provider}: "
    text = message if message.startswith(prefix) else prefix + message
    if status in (503, 529):
        return ServiceUnavailableError(text, code=code, provider=provider, retry_after=retry_after, source=UPSTREAM)
    if status in (408, 504):
        return UpstreamTimeoutError(text, code=code, provider=provider)
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls(text, code=code, param=param, provider=provider, retry_after=retry_after, source=UPSTREAM)
    if 400 <= status < 500:
        return InvalidRequestError(text, code=code, param=param, provider=provider, source=UPSTREAM)
    return UpstreamError(text, code=code, provider=provider, retry_after=retry_after)
