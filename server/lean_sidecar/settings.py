"""The one typed settings model, fed by defaults, environment, CLI flags and the editor.

Precedence (later wins, key by key): defaults < ``LEAN_SIDECAR_*`` environment variables <
command-line flags < LSP ``initializationOptions`` < ``workspace/configuration`` (section
``leanSidecar``). Every field is documented in docs/configuration.md.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from lean_bridge.json_types import Json, JsonObject
from lean_bridge.repl_pool import ReplSettings
from lean_bridge.secrets_env import scrub_process_environ

log = logging.getLogger(__name__)

ENV_PREFIX = "LEAN_SIDECAR_"
# Settings of the VS Code extension itself (how it starts the sidecar), sent along in the
# `leanSidecar` section: not the server's, and not worth a warning.
EDITOR_ONLY = frozenset({"route", "pythonPath", "serverCommand"})
ModelFamily = Literal[
    "auto", "kimina", "kimina-preview", "deepseek-v2-cot", "deepseek-v2", "goedel-v2"
]

DEFAULT_TACTICS = [
    "rfl",
    "decide",
    "norm_num",
    "simp",
    "omega",
    "linarith",
    "nlinarith",
    "positivity",
    "aesop",
    "exact?",
]


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lean-sidecar" / "proofs.sqlite"


def _default_mcp_token_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "lean-sidecar" / "mcp-token"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    # Lean
    upstream: list[str] | None = Field(
        None,
        description="Command that starts Lean's own language server, which the sidecar stands "
        "in front of. Unset: `lake serve --` inside a Lake project, `lean --server` elsewhere. "
        "Set it for a Lean built by hand or a wrapper script.",
    )
    lake_path: str = Field(
        "lake",
        description="The `lake` executable the Lean REPL is built and started with. Set it when "
        "`lake` is not on the `PATH` the sidecar sees (e.g. `~/.elan/bin/lake`).",
    )
    repl_path: str | None = Field(
        None,
        description="A built Lean REPL (`leanprover-community/repl`) folder for your project's "
        "Lean version. Unset: lean-interact fetches and builds one on first use, which needs the "
        "network and a few minutes. Set it on an offline machine, or to build the REPL once "
        "yourself (install.md).",
    )
    # Endpoints
    endpoints: list[str] = Field(
        default_factory=list,
        description="Base URLs (`http://` or `https://`) of OpenAI-compatible prover servers "
        "(vLLM). The first one that answers is used; the next takes over when it fails. Empty: "
        "only the symbolic tactics run.",
    )
    api_key: SecretStr | None = Field(
        None,
        description="Bearer token for the endpoints (vLLM's `--api-key`). Never logged; set it "
        "in the environment rather than in a file.",
    )
    model: str | None = Field(
        None,
        description="Served model name sent with every request (vLLM's `--served-model-name`). "
        "Unset: the endpoint's first model. With `modelFamily` `auto` it also picks the prompt "
        "dialect.",
    )
    model_family: ModelFamily = Field(
        "auto",
        description="Prompt dialect the model was trained with; `auto` guesses it from the "
        "model's name. Set it when the served name does not tell (a renamed or fine-tuned "
        "model).",
    )
    temperature: float = Field(
        0.6,
        ge=0,
        le=2,
        description="Sampling temperature of the model's answers, 0 to 2: higher gives more "
        "varied candidates, lower repeats the likeliest proof. Left at 0.6, the model family's "
        "published value is used (see `familySampling`); raise it when the samples of a hole "
        "come back as duplicates.",
    )
    top_p: float = Field(
        0.95,
        gt=0,
        le=1,
        description="Nucleus sampling: each token is drawn from the likeliest tokens that make "
        "up this share of the probability (above 0, at most 1). Left at 0.95, the model "
        "family's published value is used (see `familySampling`); rarely worth changing.",
    )
    max_tokens: int = Field(
        8192,
        gt=0,
        description="Most tokens one answer may have, reasoning included. Left at 8192, the "
        "model family's published length is used, fitted to the context (see "
        "`familySampling`); lower it to make each sample cheaper, at the risk of cutting long "
        "reasoning short.",
    )
    samples_per_request: int = Field(
        4,
        gt=0,
        le=256,
        description="Answers asked for in one request (`n`), which vLLM generates sharing the "
        "prompt's cache. A server that gives fewer choices (Ollama gives one) is asked for the "
        "rest with further requests. Raise it on a large GPU; lower it when requests time out.",
    )
    request_timeout: float = Field(
        300.0,
        gt=0,
        description="Seconds one endpoint request may take in all, streaming included. Raise it "
        "for a slow GPU or long reasoning.",
    )
    max_retries: int = Field(
        2,
        ge=0,
        description="Retries of one request on the same endpoint after a passing failure (HTTP "
        "429, 502, 503 or 504, a stream cut short), with growing waits, before the next endpoint "
        "is tried. 0: go to the next endpoint at once.",
    )
    endpoint_concurrency: int = Field(
        4,
        gt=0,
        description="Endpoint requests in flight at once, across holes. Raise it when the "
        "server has room (vLLM batches them); lower it on a shared or rate-limited server.",
    )
    # Search
    tactics: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TACTICS),
        description="Lean tactics tried, in order, on every hole before any model is asked (the "
        "symbolic cascade). Left at this default, the plan for your project's Lean and Mathlib "
        "versions is used instead; set your own list to try fewer tactics (faster) or your "
        "project's own.",
    )
    budget_samples: int = Field(
        16,
        ge=0,
        description="Model samples per hole, error-fix rounds and sketches included. Raise it "
        "for hard holes, lower it to save GPU time; 0: only the symbolic tactics.",
    )
    budget_seconds: float = Field(
        120.0,
        gt=0,
        description="Seconds of wall time one hole's search may take; then it ends unsolved.",
    )
    allow_native_decide: bool = Field(
        False,
        description="Accept proofs that depend on `Lean.ofReduceBool` (`native_decide`), which "
        "trusts compiled code besides the kernel. Turn it on only where your project accepts "
        "`native_decide` already.",
    )
    fix_rounds: int = Field(
        1,
        ge=0,
        le=8,
        description="Error-fix rounds per rejected sample (0 to 8): the model gets Lean's error "
        "back and answers again. 0 spends the budget on fresh samples only.",
    )
    hover_suggestions: bool = Field(
        True,
        description="Search replacements for a failing tactic and list those Lean accepts in "
        "its hover. Turn it off to save Lean and GPU time.",
    )
    hover_samples: int = Field(
        2,
        ge=0,
        description="Model samples per failing tactic, for the hover's replacements; 0: only the "
        "symbolic tactics.",
    )
    decompose_depth: int = Field(
        2,
        ge=0,
        le=6,
        description="How deep proof sketches may nest (0 to 6): a hard hole is split into "
        "sub-lemmas, which may be split again. 0: no sketches.",
    )
    sketch_samples: int = Field(
        2, ge=1, description="Proof sketches asked for each time a hole is decomposed."
    )
    negation_samples: int = Field(
        2,
        ge=0,
        description="Model samples spent on the negation of a sketch's lemma, so that a false "
        "lemma is dropped before samples are spent proving it; 0: only Lean's tactics try.",
    )
    # Verification
    repl_pool_size: int = Field(
        2,
        gt=0,
        description="Lean REPL processes that check candidates in parallel. Each holds the "
        "file's environment in memory (several GB with Mathlib): raise it on a machine with "
        "many cores and the memory for them, lower it to 1 on a small one.",
    )
    repl_memory_mb: int | None = Field(
        8192,
        description="Address-space limit of each REPL process, in MB (unset: none): a candidate "
        "that needs more fails instead of swapping the machine. Raise it for large files.",
    )
    repl_timeout: float = Field(
        60.0,
        gt=0,
        description="Seconds one REPL command (one candidate's check) may run before it fails. "
        "Raise it for files that are slow to elaborate.",
    )
    max_document_mb: float = Field(
        4.0,
        gt=0,
        description="Documents larger than this many MB are passed to Lean but not searched.",
    )
    # Storage and logs
    cache_path: Path = Field(
        default_factory=_default_cache,
        description="SQLite file of verified proofs, so that a hole solved once is offered at "
        "once next time (the key holds the toolchain, Mathlib's version, the statement, the goal "
        "and the model). Default: `$XDG_CACHE_HOME/lean-sidecar/proofs.sqlite`. Move it to "
        "another disk, or delete the file to empty the cache.",
    )
    log_level: str = Field(
        "INFO",
        description="How much the sidecar logs: `DEBUG`, `INFO`, `WARNING` or `ERROR`. `DEBUG` "
        "for a bug report. `fill` and `eval` log less unless `--log-level` is given.",
    )
    log_file: Path | None = Field(
        None,
        description="Write the log to this file instead of stderr. The VS Code shim route sets "
        "it (`sidecar.log` in the extension's storage folder), because the Lean extension shows "
        "anything on its server's stderr as an error.",
    )
    # Prover families (appended)
    family_sampling: bool = Field(
        True,
        description="Use the model family's published sampling (see provers.md) where "
        "`temperature`, `topP` and `maxTokens` keep their generic defaults; a value you set "
        "wins. `false` sends the settings as they are.",
    )
    context_tokens: int | None = Field(
        None,
        gt=0,
        description="The endpoint's `--max-model-len`, when you serve the model with a smaller "
        "context than its own; `maxTokens` is fitted to it.",
    )
    # Endpoint faults (appended)
    stall_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds a streamed answer may go without a complete line before it "
        "ends as stalled; separate from `requestTimeout`.",
    )
    min_token_rate: float = Field(
        1.0,
        ge=0,
        description="Fewest tokens a second a streamed answer may average, measured from its "
        "first token once `stallTimeout` seconds have passed; a slower stream ends as stalled "
        "(a server that trickles whole lines is never silent long enough to stall). 0: no "
        "minimum. Lower it for a slow local model.",
    )
    max_answer_bytes: int = Field(
        1_000_000,
        gt=0,
        description="Largest answer per sample in bytes (text plus reasoning), cut off while "
        "streaming.",
    )
    endpoint_cooldown: float = Field(
        30.0,
        ge=0,
        description="Seconds a failing endpoint is skipped (the next one is used).",
    )
    max_proof_chars: int = Field(
        100_000,
        gt=0,
        description="Longer candidate proofs are refused before Lean (checked first; verified "
        "prover proofs reach about 50,000 characters).",
    )
    repl_sandbox: bool = Field(
        True,
        description="Run every Lean REPL in a sandbox (bubblewrap: no network, read-only file "
        "system, home hidden, no secrets). Turned off, a model's candidates are not checked at "
        "all unless you also set `allowUnsandboxed`; only the symbolic tactics run.",
    )
    allow_unsandboxed: bool = Field(
        False,
        description="Check a model's candidates in Lean even where no sandbox works (neither "
        "bubblewrap nor user namespaces) or `replSandbox` is off. Model output then runs with "
        "your privileges: anything that slips past the gate can read your files and reach the "
        "network. Off (the default), such a machine runs only the symbolic tactics, and you are "
        "told once why. In VS Code this setting, like the paths and `replSandbox`, can only be "
        "set in your user settings, never by a workspace.",
    )
    # Editors (appended)
    editor_search_command: str | None = Field(
        None,
        pattern=r"^leanSidecar\.[A-Za-z]+$",
        description='The editor\'s own command that the "Search proof for this sorry" code '
        "action runs instead of `leanSidecar.searchProof` (with the same argument; it calls "
        "`leanSidecar.searchProof` itself). The VS Code extension sets it to show the search as a "
        "cancellable notification; unset, the action runs `leanSidecar.searchProof`.",
    )

    # Agents over MCP (appended)
    mcp_share: bool = Field(
        False,
        description="Let agents use this editor's Lean: `lean-sidecar serve` also answers MCP "
        "(streamable HTTP at http://`mcpHost`:`mcpPort`/mcp) for callers that send the token in "
        "`mcpTokenFile`, so editor and agent share one REPL pool and cache. Read when the "
        "editor starts the sidecar.",
    )
    mcp_host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address the MCP HTTP server listens on (`serve` with `mcpShare`, "
        "`lean-sidecar mcp --http`). Loopback by default; another address exposes it to the "
        "network (the token is still required).",
    )
    mcp_port: int = Field(
        7470, ge=0, le=65535, description="Port of the MCP HTTP server; 0 picks a free one."
    )
    mcp_token_file: Path = Field(
        default_factory=_default_mcp_token_file,
        description="The MCP HTTP server's bearer token, in a file only you can read (0600, in "
        "a 0700 folder): created on first use and reused, so agent configs stay valid; a file "
        "others could read is replaced with a new token.",
    )

    # Beyond one machine (appended): Lean on verifier servers, requests spread over endpoints
    verifier_servers: list[str] = Field(
        default_factory=list,
        description="Kimina Lean Server base URLs that run every Lean check instead of the local "
        "REPL pool, round-robin over those that answer (health: `GET /health`). The gate, the "
        "parse of record and the axiom audit still run here; a server that cannot return Lean's "
        "info tree, or runs another Lean version than the project, is refused. A user setting "
        "only in VS Code: a workspace cannot choose whose Lean decides. See "
        "docs/remote-verification.md.",
    )
    verifier_api_key: SecretStr | None = Field(
        None,
        description="Bearer token for the verifier servers (their `LEAN_SERVER_API_KEY`), a "
        "secret like `apiKey`: read once from the environment, never logged, written or put in "
        "a URL; not an editor setting.",
    )
    verifier_concurrency: int = Field(
        8,
        gt=0,
        description="Checks in flight at once per verifier server (about its number of REPLs, "
        "Kimina's LEAN_SERVER_MAX_REPLS).",
    )
    verifier_retry_seconds: float = Field(
        30.0,
        ge=0,
        description="How long checks wait for a verifier server to answer again when none does; "
        "then `eval` stops with exit code 3, keeping the problems it finished (rerun it to "
        "resume).",
    )
    endpoint_routing: Literal["auto", "failover", "spread"] = Field(
        "auto",
        description="`failover`: the first healthy endpoint takes every request, the next when "
        "it fails; `spread`: round-robin over the healthy endpoints (replicas of one model), "
        "`endpointConcurrency` requests each; `auto`: `eval` spreads, the editor and `fill` "
        "fail over.",
    )

    @field_validator("endpoints", "verifier_servers", mode="before")
    @classmethod
    def _endpoints(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    @field_validator("endpoints", "verifier_servers")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        """Each an http(s) URL with a host, without its trailing slash: `gpu:8000` would
        otherwise fail later, at every request, as "cannot connect"."""
        return [_endpoint_url(u) for u in v]

    def merged(
        self,
        overrides: Mapping[str, object],
        source: str,
        strict: bool = False,
        spell: Callable[[str], str] | None = None,
        editor: bool = False,
    ) -> Settings:
        """A copy with ``overrides`` applied; an empty value means unset. Unknown or invalid
        keys are reported and ignored (an editor's settings must not stop the server), or, with
        ``strict`` (the command line), raise `SettingsError` naming the setting as the user
        spells it there (``spell(field)``, e.g. ``--repl-path``).

        From an ``editor``, a value equal to the default is unset too: VS Code answers with
        every contributed default, whether the user set it or not, and that must not override
        a ``LEAN_SIDECAR_*`` variable or a flag."""
        data = self.model_dump()
        defaults = Settings().model_dump() if editor else {}
        for key, value in overrides.items():
            if key in EDITOR_ONLY:
                continue
            name = _field_name(key)
            if name is None:
                log.warning("%s: unknown setting %r ignored", source, key)
                continue
            if value is None or value == "":
                continue  # an empty value means unset: the default or a lower source applies
            trial = {**data, name: value}
            try:
                checked = Settings.model_validate(trial).model_dump()
            except ValidationError as exc:
                why = str(exc.errors()[0].get("msg")).removeprefix("Value error, ")
                if strict:
                    shown = spell(name) if spell else name
                    # a list's validator names the item at fault
                    what = "" if isinstance(value, list) else f" {value!r}"
                    raise SettingsError(f"invalid value{what} for {shown}: {why}") from None
                log.warning("%s: invalid value for %s ignored: %s", source, name, why)
                continue
            if editor and checked[name] == defaults[name]:
                continue  # the editor's default, not a choice: a lower source stays
            data = trial
        return Settings.model_validate(data)

    def repl(self, project_dir: Path | None) -> ReplSettings:
        """The REPL pool's settings for a project (the folder with its lean-toolchain)."""
        return ReplSettings(
            project_dir=project_dir,
            repl_path=Path(self.repl_path) if self.repl_path else None,
            lake_path=self.lake_path,
            pool_size=self.repl_pool_size,
            memory_mb=self.repl_memory_mb,
            timeout=self.repl_timeout,
            sandbox=self.repl_sandbox,
        )

    def redacted(self) -> JsonObject:
        """What may be logged or shown: secrets are masked by SecretStr."""
        data: JsonObject = json.loads(self.model_dump_json())
        return data


def _endpoint_url(raw: str) -> str:
    url = raw.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # .port raises on a port that is no number
    except ValueError as exc:
        raise ValueError(f"{raw!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        example = url if "://" in url else f"http://{url}"
        if "://" in url:
            example = "http://" + url.split("://", 1)[1]
        raise ValueError(f"{raw!r} is not a URL: write it with http:// or https://, e.g. {example}")
    if not host:
        raise ValueError(f"{raw!r} has no host name, e.g. http://127.0.0.1:8000")
    return url


class SettingsError(ValueError):
    """An invalid setting where it must not be ignored (the command line); ``str()`` names
    the flag or variable to fix."""


def env_name(name: str) -> str:
    """The environment variable of a settings field."""
    return f"{ENV_PREFIX}{name.upper()}"


#: settings field -> the command-line flag that sets it (errors name the flag, not the field);
#: ``fill``, ``eval`` and ``serve`` share these flags, ``upstream`` is ``serve``'s alone
CLI_FLAGS: Mapping[str, str] = {
    "endpoints": "--endpoint",
    "model": "--model",
    "model_family": "--model-family",
    "lake_path": "--lake-path",
    "repl_path": "--repl-path",
    "log_level": "--log-level",
    "upstream": "--upstream",
}


def cli_spelling(name: str, flags: Mapping[str, str] = CLI_FLAGS) -> str:
    """How a command-line user sets ``name``: its flag (``flags``: field -> flag) if it has
    one, and its variable."""
    flag = flags.get(name)
    return f"{flag} (or {env_name(name)})" if flag else env_name(name)


def name_settings(text: str, spell: Callable[[str], str]) -> str:
    """``text`` with every settings field name written as the user spells it (``repl_path``
    becomes ``--repl-path (or LEAN_SIDECAR_REPL_PATH)`` on the command line)."""
    fields = sorted((n for n in Settings.model_fields if "_" in n), key=len, reverse=True)
    pattern = re.compile(r"`?\b(" + "|".join(fields) + r")\b`?")
    return pattern.sub(lambda m: spell(m.group(1)), text)


def _camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _field_name(key: str) -> str | None:
    name = _camel_to_snake(key).replace("-", "_")
    return name if name in Settings.model_fields else None


def _parse_env_value(name: str, raw: str) -> Json:
    annotation = str(Settings.model_fields[name].annotation)
    if "list" in annotation:
        raw = raw.strip()
        if raw.startswith("["):
            parsed: Json = json.loads(raw)
            return parsed
        if name == "upstream":
            return shlex.split(raw)  # shell-style, as documented
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


# Variables that hold secrets: read once, then gone from this process's environment (and from
# its /proc/<pid>/environ), so that nothing started later, or reading /proc, can find them.
SECRET_FIELDS = ("api_key", "verifier_api_key")
_kept: dict[str, str] = {}


def take_secrets() -> None:
    """Move the secret variables out of ``os.environ`` into this module (idempotent)."""
    for name in SECRET_FIELDS:
        var = env_name(name)
        if var in os.environ:
            scrub_process_environ(var)
            _kept[var] = os.environ.pop(var)


def from_environment(env: Mapping[str, str] | None = None, strict: bool = False) -> JsonObject:
    if env is None:
        take_secrets()
        env = {**os.environ, **_kept}
    out: JsonObject = {}
    for key, raw in env.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX) :].lower()
            if name in Settings.model_fields:
                if raw.strip() == "":
                    continue  # LEAN_SIDECAR_X= (empty) means unset
                try:
                    out[name] = _parse_env_value(name, raw)
                except ValueError as exc:
                    if strict:
                        raise SettingsError(f"cannot parse {key}: {exc}") from None
                    log.warning("environment: cannot parse %s", key)
            else:
                log.warning("environment: unknown setting %s ignored", key)
    return out


def load_settings(
    cli: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    strict: bool = False,
    flags: Mapping[str, str] | None = None,
) -> Settings:
    """Defaults < environment < ``cli``. With ``strict`` (the command line) an invalid value
    raises `SettingsError` naming the variable (from the environment) or the flag (``flags``:
    field -> flag of the command) instead of being ignored with a warning."""
    settings = Settings().merged(from_environment(env, strict), "environment", strict, env_name)
    if cli:
        settings = settings.merged(cli, "command line", strict, lambda n: (flags or {}).get(n, n))
    return settings
