"""Why an endpoint request failed, as a stable kind plus a message the user can act on.

The language-server layer shows one message per cause, so every failure carries a `kind` that
does not change between releases and the endpoint it concerns (a URL stripped of credentials and
query). Messages never contain the API key in any encoding (see `Redactor`), and text taken from a
response body is cut short and redacted: raw bodies are never kept.
"""

from __future__ import annotations

import base64
import enum
import json
import re
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

DETAIL_CHARS = 200


class FailureKind(str, enum.Enum):
    """Stable names of failure causes (the values are part of the public API)."""

    UNREACHABLE = "unreachable"  # connection refused, DNS, TLS, connect timeout
    UNAUTHORIZED = "unauthorized"  # HTTP 401/403: the key is missing or wrong
    STALLED = "stalled"  # no complete line for `stall_timeout` seconds (hang, drip)
    RATE_LIMITED = "rate_limited"  # HTTP 429 after the retries the budget allowed
    SERVER_ERROR = "server_error"  # HTTP 5xx, or an error event inside the stream
    TRUNCATED = "truncated"  # the stream closed before `data: [DONE]`
    MALFORMED = "malformed"  # not vLLM's OpenAI-compatible format (bad JSON/SSE, no `index`)
    OVERSIZED = "oversized"  # the answer exceeded `max_answer_bytes` while streaming
    REJECTED = "rejected"  # HTTP 4xx other than 401/403/429: the request itself was refused
    NO_MODEL = "no_model"  # the endpoint serves no model
    TIMEOUT = "timeout"  # the total `request_timeout` ran out
    CANCELLED = "cancelled"  # the caller cancelled (the client raises CancelledError itself)
    UNKNOWN = "error"  # built by older callers with a bare message

    @property
    def retryable(self) -> bool:
        """Worth another try on the same endpoint (within the budget)."""
        return self in (FailureKind.RATE_LIMITED, FailureKind.TRUNCATED)


_ADVICE = {
    FailureKind.UNREACHABLE: "Check that the server is running and that `endpoints` has its URL.",
    FailureKind.UNAUTHORIZED: "Set the right key in `apiKey` (or LEAN_SIDECAR_API_KEY).",
    FailureKind.STALLED: "The server may be overloaded or hung; if it is only slow, "
    "raise `stallTimeout`.",
    FailureKind.RATE_LIMITED: "Wait a little, or lower `endpointConcurrency`.",
    FailureKind.SERVER_ERROR: "Check the server's log.",
    FailureKind.TRUNCATED: "The server or a proxy cut the connection; check the server's log.",
    FailureKind.MALFORMED: "Check that `endpoints` points at a vLLM (OpenAI-compatible) server.",
    FailureKind.OVERSIZED: "Lower `maxTokens`, or raise `maxAnswerBytes`.",
    FailureKind.REJECTED: "Check `model` and `maxTokens` against what the server accepts.",
    FailureKind.NO_MODEL: "Start the server with a model, or set `model`.",
    FailureKind.TIMEOUT: "Raise `requestTimeout`, or lower `maxTokens`.",
    FailureKind.CANCELLED: "",
    FailureKind.UNKNOWN: "",
}


class EndpointError(Exception):
    """No endpoint produced an answer; ``str()`` is safe to show (no secrets) and names the cause.

    ``kind`` is a `FailureKind`; ``endpoint`` the URL without credentials; ``cause`` the pair to
    deduplicate user messages on; ``others`` the failures of endpoints tried before this one.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: FailureKind = FailureKind.UNKNOWN,
        endpoint: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        advice: str | None = None,
    ) -> None:
        self.kind = kind
        self.endpoint = endpoint
        self.detail = message
        self.status = status
        self.retry_after = retry_after
        self.advice = _ADVICE[kind] if advice is None else advice
        self.others: list[EndpointError] = []
        super().__init__(message)

    def noted(self, note: str) -> EndpointError:
        """A copy with ``note`` after its detail. The circuit keeps the original as the
        endpoint's last failure: a note added in place would be added again at every pick."""
        copy = EndpointError(
            f"{self.detail} {note}",
            kind=self.kind,
            endpoint=self.endpoint,
            status=self.status,
            retry_after=self.retry_after,
            advice=self.advice,
        )
        copy.others = list(self.others)
        return copy

    @property
    def retryable(self) -> bool:
        if self.kind is FailureKind.SERVER_ERROR:
            return self.status in (502, 503, 504)
        return self.kind.retryable

    @property
    def cause(self) -> tuple[str, str]:
        """What a user message is about: one message per cause, not per attempt."""
        return (self.kind.value, self.endpoint)

    @property
    def user_message(self) -> str:
        head = f"{self.endpoint}: {self.detail}" if self.endpoint else self.detail
        text = f"{head}. {self.advice}" if self.advice else head
        if self.others:
            text += " Also tried: " + "; ".join(
                f"{e.endpoint}: {e.kind.value}" for e in self.others
            )
        return text

    def __str__(self) -> str:
        return self.user_message

    def __repr__(self) -> str:
        return f"EndpointError(kind={self.kind.value!r}, endpoint={self.endpoint!r})"


def safe_url(url: str) -> str:
    """The URL to show: no user, password, query or fragment (any of them may hold a secret)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", "")) or "endpoint"
    except ValueError:
        return "endpoint"


def _b64_cores(secret: bytes) -> set[str]:
    """Base64 fragments of the secret at each byte alignment (as inside ``user:key`` basic auth)."""
    out: set[str] = set()
    for pad in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            text = enc(b"\0" * pad + secret).decode().rstrip("=")
            start = 4 if pad else 0  # the first group mixes in the padding
            stop = len(text) - (len(text) % 4 or 4)  # the last group may mix in what follows
            core = text[start:stop]
            if len(core) >= 8:
                out.add(core)
    return out


class Redactor:
    """Replaces the secret in every encoding it may travel in: plain, JSON-escaped,
    URL-encoded and base64 (alone or inside a basic-auth pair)."""

    MASK = "***"

    def __init__(self, secret: str | None, *more: str) -> None:
        forms: set[str] = set()
        for one in (secret, *more):
            if not one:
                continue
            forms |= {
                one,
                json.dumps(one)[1:-1],
                json.dumps(one, ensure_ascii=False)[1:-1],
                quote(one, safe=""),
                quote_plus(one),
                quote(one),
            }
            raw = one.encode()
            forms |= _b64_cores(raw)
            forms |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
        forms.discard("")
        self.longest = max((len(f) for f in forms), default=0)
        self._pattern = (
            re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)), re.I)
            if forms
            else None
        )

    def __call__(self, text: str) -> str:
        return self._pattern.sub(self.MASK, text) if self._pattern else text

    def __repr__(self) -> str:
        return "Redactor(***)"


def cut(text: str, redact: Redactor, limit: int = DETAIL_CHARS) -> str:
    """Text from a response, safe to show: redacted first (so a cut cannot split the key),
    then shortened, control characters flattened."""
    clean = redact(text)
    clean = re.sub(r"[\x00-\x1f\x7f]+", " ", clean).strip()
    return clean if len(clean) <= limit else clean[:limit] + "…"
