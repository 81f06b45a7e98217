"""How many samples (choices) one request to an OpenAI-compatible server gives, as its answers
show, and how to ask for the rest.

vLLM honours ``n``: one request, ``n`` choices, one shared prompt prefix. Local model servers do
not, each in its own way:

- Ollama's OpenAI layer has no ``n``: its docs list ``n`` as unsupported for both
  ``/v1/chat/completions`` and ``/v1/completions`` (ollama/ollama@fb30760:
  docs/api/openai-compatibility.mdx), ``ChatCompletionRequest`` and ``CompletionRequest`` have
  no such field, and every answer is built with one choice, ``Index: 0``
  (ollama/ollama@fb30760: openai/openai.go, ``ToChatCompletion``, ``toChunk``,
  ``ToCompletion``). An unknown field is ignored, so ``n: 4`` gets one choice and no error.
- llama.cpp's ``llama-server`` refused any ``n`` but 1 for a long time: ``throw
  std::runtime_error("Only one completion choice is allowed")``, which its ``ex_wrapper``
  answers as HTTP 500 ``{"error": {"code": 500, "message": "Only one completion choice is
  allowed", "type": "server_error"}}`` (ggml-org/llama.cpp@aa6192d:
  tools/server/server-common.cpp, ``oaicompat_chat_params_parse``; tools/server/server.cpp,
  ``ex_wrapper``). Newer builds take ``n`` as ``n_cmpl``, bounded by ``--parallel``; beyond it
  the request is refused with HTTP 400 ``Field 'n': Value must be between 1 <= value <= P, but
  got N`` (ggml-org/llama.cpp@0177c34: tools/server/server-schema.cpp,
  ``field_num("n_cmpl")->add_alias("n")``, ``set_hard_limits(1, n_parallel)``,
  ``handle_with_catch``).

The client learns, per endpoint, how many choices one request brings (fewer choices than asked,
or one of the refusals above) and makes up the difference with further requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# A refusal of ``n`` in an error message -> the most choices one request may ask for.
_REFUSALS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], int]]] = [
    (re.compile(r"only one completion choice is allowed", re.I), lambda m: 1),
    (
        re.compile(r"field 'n(?:_cmpl)?': value must be between 1 <= value <= (\d+)", re.I),
        lambda m: int(m.group(1)),
    ),
]


def refused_choices(detail: str) -> int | None:
    """The most choices per request that an error message allows, when it is a refusal of
    ``n``; None for any other error."""
    for pattern, cap in _REFUSALS:
        m = pattern.search(detail)
        if m:
            return max(1, cap(m))
    return None


def split(n: int, per: int) -> list[int]:
    """``n`` samples as requests of at most ``per`` each: ``split(5, 2) == [2, 2, 1]``."""
    per = max(1, per)
    return [min(per, n - k) for k in range(0, max(0, n), per)]
