"""``lean-sidecar doctor``'s endpoint check, and the line type every check returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx

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


def check_endpoint(settings: Settings, client: Callable[[], httpx.Client]) -> list[Check]:
    """Reachable, models served, family, key present, and a one-token test generation, with
    httpx directly (independent of the search's endpoint client, so it also checks that)."""
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
            models = [str(m["id"]) for m in r.json()["data"]]
        except (ValueError, KeyError, TypeError):
            return [
                *out,
                Check(
                    "endpoint",
                    "fail",
                    f"{url}/v1/models answered HTTP {r.status_code}, not a model list",
                ),
            ]
        model = settings.model or (models[0] if models else None)
        if model is None or model not in models:
            return [
                *out,
                Check(
                    "endpoint",
                    "fail",
                    f"{url} serves {models}, not {model!r}: set --model / LEAN_SIDECAR_MODEL",
                ),
            ]
        from lean_sidecar.prover.families import guess_family

        family = settings.model_family if settings.model_family != "auto" else None
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
    return out
