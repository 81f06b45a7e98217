"""``lean-sidecar doctor``'s endpoint check, and the line type every check returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx

from lean_sidecar.doctor_local import (
    LOCAL_KINDS,
    context_check,
    detect,
    read_ollama_context,
    server_check,
    serves,
)
from lean_sidecar.settings import Settings

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    essential: bool = True

    def line(self) -> str:
        return f"{self.status.upper():4}  {self.name:10} {self.message}"


def _base(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


# A local server loads the model on its first request: the test generation waits for that.
LOCAL_LOAD_SECONDS = 300.0


def check_endpoint(settings: Settings, client: Callable[[], httpx.Client]) -> list[Check]:
    """Reachable, models served, family, key present, and a one-token test generation, with
    httpx directly (independent of the search's endpoint client, so it also checks that); then
    the kind of server and whether its context holds the family's answers (doctor_local)."""
    if not settings.endpoints:
        return [
            Check(
                "endpoint",
                "warn",
                "none set: only Lean's own tactics are tried (--endpoint URL or"
                " LEAN_SIDECAR_ENDPOINTS for a prover model)",
                essential=False,
            )
        ]
    key = settings.api_key.get_secret_value() if settings.api_key else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    out = [
        Check(
            "api key",
            "ok",
            "set (never shown)"
            if key
            else "not set (LEAN_SIDECAR_API_KEY if the endpoint needs one)",
            essential=False,
        )
    ]
    url = settings.endpoints[0]
    with client() as http:
        try:
            r = http.get(f"{_base(url)}/models", headers=headers)
        except httpx.HTTPError as exc:
            return [
                *out,
                Check(
                    "endpoint",
                    "fail",
                    f"{url} unreachable ({type(exc).__name__}): is the server up?",
                ),
            ]
        if r.status_code in (401, 403):
            return [
                *out,
                Check(
                    "endpoint",
                    "fail",
                    f"{url} refused the API key (HTTP {r.status_code}): set LEAN_SIDECAR_API_KEY",
                ),
            ]
        try:
            payload = r.json()
            models = [str(m["id"]) for m in payload["data"]]
        except (ValueError, KeyError, TypeError):
            return [
                *out,
                Check(
                    "endpoint",
                    "fail",
                    f"{url}/v1/models answered HTTP {r.status_code}, not a model list",
                ),
            ]
        info = detect(http, url, headers, payload)
        model = settings.model or (models[0] if models else None)
        if model is None or not serves(info, model):
            return [
                *out,
                Check(
                    "endpoint",
                    "fail",
                    f"{url} serves {models}, not {model!r}: set --model / LEAN_SIDECAR_MODEL"
                    + (f" (or `ollama pull {model}`)" if info.kind == "ollama" and model else ""),
                ),
            ]
        from lean_sidecar.prover.families import guess_family

        family = settings.model_family if settings.model_family != "auto" else None
        local = info.kind in LOCAL_KINDS
        out.append(
            Check(
                "endpoint",
                "ok",
                f"{url} serves {', '.join(models)}; model {model}, family"
                f" {family or guess_family(model) + ' (guessed)'}",
            )
        )
        try:
            g = http.post(
                f"{_base(url)}/completions",
                headers=headers,
                json={"model": model, "prompt": "theorem", "max_tokens": 1, "temperature": 0},
                timeout=LOCAL_LOAD_SECONDS if local else httpx.USE_CLIENT_DEFAULT,
            )
            ok = g.status_code == 200 and bool(g.json().get("choices"))
        except (httpx.HTTPError, ValueError, AttributeError):
            ok = False
            g = None
        out.append(
            Check("generate", "ok", "a one-token test generation works")
            if ok
            else Check(
                "generate",
                "fail",
                f"the test generation failed (HTTP {g.status_code if g is not None else 'error'}):"
                " check the server's log",
            )
        )
        if info.kind == "ollama":  # loaded by the test generation: /api/ps has its context
            read_ollama_context(http, url, headers, model, info)
    status, text = server_check(info, settings.endpoint_concurrency)
    out.append(Check("server", status, text, essential=False))
    status, text = context_check(
        info, model, family or guess_family(model), settings.context_tokens
    )
    out.append(Check("context", status, text, essential=False))
    return out
