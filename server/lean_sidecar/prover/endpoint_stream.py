"""Reading one answer of vLLM's OpenAI-compatible server, bounded in time and size.

Why a hand-written reader rather than ``aiter_lines``: the answer must be refused *while* it
streams (a 50 MB answer must never be held in memory), a stream that sends nothing, or drips a
byte at a time, must end after ``stall_timeout`` seconds rather than the whole budget, and the
response contract (an integer ``index`` on every choice, below ``n``) is checked on every chunk,
so choices without an index are refused instead of being merged into one text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from lean_sidecar.prover.endpoint_errors import FailureKind

LINE_SLACK = 64 * 1024  # JSON overhead a single SSE line may carry besides its text
HTML_PAGE = (
    "answered with an HTML page (not JSON): a proxy's or login page, or a URL that is not "
    "the OpenAI API's (it usually ends in /v1)"
)


def looks_like_html(head: bytes) -> bool:
    """The start of a body that is a web page (a proxy's error or login page), not JSON/SSE."""
    return head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


class StreamFault(Exception):
    """A failure found while reading; the client adds the endpoint and turns it into an
    `EndpointError`. ``detail`` may hold text from the body and is redacted by the client."""

    def __init__(self, kind: FailureKind, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status = status


@dataclass
class Accumulator:
    """The choices of one answer, with the size cap and the `index` contract enforced."""

    kind: str
    n: int
    max_bytes: int
    texts: dict[int, list[str]] = field(default_factory=dict)
    reasoning: dict[int, list[str]] = field(default_factory=dict)
    finish: dict[int, str | None] = field(default_factory=dict)
    sizes: dict[int, int] = field(default_factory=dict)
    tokens: int = 0
    pieces: int = 0  # non-empty text pieces received (a streamed piece is about one token)

    def add_chunk(self, chunk: object, streamed: bool) -> None:
        if not isinstance(chunk, dict):
            raise StreamFault(FailureKind.MALFORMED, "an answer chunk is not a JSON object")
        if "error" in chunk or chunk.get("object") == "error":
            err = chunk.get("error", chunk)
            msg = err.get("message", err) if isinstance(err, dict) else err
            raise StreamFault(FailureKind.SERVER_ERROR, f"error inside the answer: {msg}")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            try:
                self.tokens = int(usage.get("completion_tokens") or self.tokens)
            except (TypeError, ValueError):
                raise StreamFault(FailureKind.MALFORMED, "`usage` is not a number") from None
        choices = chunk.get("choices")
        if choices is None and not streamed:
            raise StreamFault(FailureKind.MALFORMED, "the answer has no `choices`")
        if choices is not None and not isinstance(choices, list):
            raise StreamFault(FailureKind.MALFORMED, "`choices` is not a list")
        for choice in choices or []:
            self._add_choice(choice, streamed)

    def check_complete(self) -> None:
        """An answer without a single choice is not an answer: no sample can come of it."""
        if not self.texts:
            raise StreamFault(FailureKind.MALFORMED, "the answer has no choices (no sample)")

    def _add_choice(self, choice: object, streamed: bool) -> None:
        if not isinstance(choice, dict):
            raise StreamFault(FailureKind.MALFORMED, "a choice is not a JSON object")
        index = choice.get("index")
        if type(index) is not int:
            raise StreamFault(
                FailureKind.MALFORMED,
                "a choice has no integer `index` (samples cannot be told apart)",
            )
        if not 0 <= index < self.n:
            raise StreamFault(
                FailureKind.MALFORMED, f"choice `index` {index} outside 0..{self.n - 1}"
            )
        if not streamed and index in self.texts:
            raise StreamFault(FailureKind.MALFORMED, f"two choices with `index` {index}")
        if self.kind == "chat":
            part = choice.get("delta" if streamed else "message")
            if part is None and streamed:
                part = {}
            if not isinstance(part, dict):
                raise StreamFault(FailureKind.MALFORMED, "a chat choice has no message object")
            text = part.get("content")
            thought = part.get("reasoning") or part.get("reasoning_content")
        else:
            text, thought = choice.get("text"), None
        text, thought = text or "", thought or ""
        if not isinstance(text, str) or not isinstance(thought, str):
            raise StreamFault(FailureKind.MALFORMED, "a choice's text is not a string")
        size = self.sizes.get(index, 0) + len(text.encode()) + len(thought.encode())
        if size > self.max_bytes:
            raise StreamFault(
                FailureKind.OVERSIZED,
                f"sample {index} passed {self.max_bytes} bytes (`maxAnswerBytes`)",
            )
        self.sizes[index] = size
        if text or thought:
            self.pieces += 1
        self.texts.setdefault(index, []).append(text)
        self.reasoning.setdefault(index, []).append(thought)
        if choice.get("finish_reason"):
            self.finish[index] = str(choice["finish_reason"])


async def read_sse(
    chunks: AsyncIterator[bytes],
    acc: Accumulator,
    stall_timeout: float,
    clock: Callable[[], float],
    min_token_rate: float = 0.0,
) -> None:
    """Feed an SSE body into ``acc`` until ``data: [DONE]``; raise `StreamFault` on a stall
    (no complete line for ``stall_timeout`` s, which also catches a drip; or, once the first
    token came, fewer than ``min_token_rate`` tokens a second over ``stall_timeout`` s or more,
    which catches a trickle of whole lines), an oversized line or answer, a web page, bad
    JSON, or a stream that ends early."""
    buf = bytearray()
    line_cap = acc.max_bytes + LINE_SLACK
    total_cap = (acc.max_bytes + LINE_SLACK) * acc.n * 8
    total = 0
    last_line = clock()
    first_token: float | None = None
    async for data in chunks:
        if total == 0 and looks_like_html(bytes(data)):
            raise StreamFault(FailureKind.MALFORMED, HTML_PAGE)
        total += len(data)
        if total > total_cap:
            raise StreamFault(FailureKind.OVERSIZED, f"the stream passed {total_cap} bytes")
        buf += data
        while True:
            end = buf.find(b"\n")
            if end < 0:
                break
            line = bytes(buf[:end]).rstrip(b"\r")
            del buf[: end + 1]
            if line.strip():
                last_line = clock()
            if _sse_line(line, acc):
                acc.check_complete()
                return
            if first_token is None and acc.pieces:
                first_token = last_line
            if first_token is not None and min_token_rate > 0:
                _check_rate(acc.pieces, last_line - first_token, stall_timeout, min_token_rate)
        # No bytes at all for `stall_timeout` is httpx's read timeout (set by the client); bytes
        # that never complete a line (a drip, blank lines) are caught here, as the next ones come.
        if clock() - last_line > stall_timeout:
            raise StreamFault(FailureKind.STALLED, f"no complete line for {stall_timeout:g} s")
        if len(buf) > line_cap:
            raise StreamFault(
                FailureKind.OVERSIZED, f"one stream line passed {line_cap} bytes (`maxAnswerBytes`)"
            )
    raise StreamFault(FailureKind.TRUNCATED, "the stream ended before `data: [DONE]`")


def _check_rate(pieces: int, seconds: float, window: float, min_rate: float) -> None:
    """A stream that sends whole lines, but too slowly to finish within any budget."""
    if seconds >= window and pieces / seconds < min_rate:
        raise StreamFault(
            FailureKind.STALLED,
            f"{pieces / seconds:.2f} tokens/s over {seconds:.0f} s, below `minTokenRate` "
            f"({min_rate:g})",
        )


def _sse_line(line: bytes, acc: Accumulator) -> bool:
    """Handle one SSE line; True at ``[DONE]``. Comments, ``event:``/``id:`` lines are skipped."""
    if not line.startswith(b"data:"):
        return False
    payload = line[5:].strip()
    if payload == b"[DONE]":
        return True
    try:
        chunk = json.loads(payload)
    except ValueError:
        raise StreamFault(FailureKind.MALFORMED, "a `data:` line is not JSON") from None
    acc.add_chunk(chunk, streamed=True)
    return False


def parse_full(body: bytes, acc: Accumulator) -> None:
    """A non-streamed answer (already read under its size cap) into ``acc``."""
    if looks_like_html(body[:64]):
        raise StreamFault(FailureKind.MALFORMED, HTML_PAGE)
    try:
        data = json.loads(body)
    except ValueError:
        raise StreamFault(FailureKind.MALFORMED, "the answer is not JSON") from None
    acc.add_chunk(data, streamed=False)
    acc.check_complete()
