"""The MCP tools, in process, with the SDK's own client: what each answers, that inputs are
refused as hostile (confined paths, bounded sizes, unknown fields), and that every failure is
an MCP error with a message and a kind, never a traceback."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from lean_sidecar.agents.server import build_server
from lean_sidecar.agents.standalone import standalone_tools
from lean_sidecar.agents.tools import AgentTools
from lean_sidecar.settings import Settings
from tests.agents_helpers import (
    BAD,
    DIV,
    EASY,
    LINARITH,
    TACTICS,
    held,
    make_project,
    make_repl,
    received,
    repl_processes,
)


class Agent:
    def __init__(self, client: Client, tools: AgentTools, project: Path, log: Path, repl: Path):
        self.client, self.tools, self.project, self.log, self.repl = (
            client,
            tools,
            project,
            log,
            repl,
        )

    async def call(self, name: str, args: dict[str, Any], **kw: Any) -> dict[str, Any]:
        result = await self.client.call_tool(name, args, **kw)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        text = result.content[0].text  # type: ignore[union-attr]
        assert json.loads(text) == result.structured_content  # the same answer, as text
        return result.structured_content

    async def error(self, name: str, args: dict[str, Any]) -> tuple[int, str, str]:
        with pytest.raises(MCPError) as caught:
            await self.client.call_tool(name, args)
        err = caught.value.error
        assert "Traceback" not in err.message and 'File "' not in err.message
        kind = (err.data or {}).get("kind") if isinstance(err.data, dict) else None
        return err.code, err.message, str(kind)


def at(position: tuple[int, int]) -> dict[str, int]:
    return {"line": position[0], "character": position[1]}


def settings_for(tmp: Path, lake: Path, repl: Path, **more: Any) -> Settings:
    base: dict[str, Any] = {
        "repl_path": str(repl),
        "lake_path": str(lake),
        "cache_path": tmp / "cache.sqlite",
        "tactics": TACTICS.split(","),
    }
    return Settings(**{**base, **more})


@pytest.fixture
async def agent(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Agent]:
    """The REPL sandbox is off only so that the stand-in REPL can write its log where the test
    reads it (``replSandbox`` is no part of what these tests check)."""
    lake, repl, log = make_repl(tmp_path)
    project = make_project(tmp_path)
    more = getattr(request, "param", {})
    settings = settings_for(tmp_path, lake, repl, repl_sandbox=False, **more)
    tools, engine = standalone_tools(settings, project, doctor=fake_doctor)
    try:
        async with held(Client(build_server(tools))) as client:
            yield Agent(client, tools, project, log, repl)
    finally:
        await engine.close()


class _Line:
    def __init__(self, name: str, status: str, message: str, essential: bool) -> None:
        self.name, self.status, self.message, self.essential = name, status, message, essential


def fake_doctor(settings: Settings, project: Path) -> tuple[list[_Line], bool]:
    return [
        _Line("python", "ok", "Python 3", True),
        _Line("repl", "ok", f"REPL at {settings.repl_path} for {project.name}", True),
    ], True


def no_refs(node: Any) -> None:
    if isinstance(node, dict):
        assert "$ref" not in node
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, node
        for v in node.values():
            no_refs(v)
    elif isinstance(node, list):
        for v in node:
            no_refs(v)


async def test_every_tool_has_a_strict_typed_schema_and_a_result_schema(agent: Agent) -> None:
    tools = {t.name: t for t in (await agent.client.list_tools()).tools}
    assert set(tools) == {
        "holes",
        "goal",
        "verify",
        "search",
        "fill",
        "tactic_replacements",
        "refute",
        "doctor",
    }
    for tool in tools.values():
        no_refs(tool.input_schema)  # unknown fields refused at every level, no $ref to resolve
        assert tool.output_schema and tool.output_schema["type"] == "object"
        assert tool.description
    assert tools["fill"].annotations and tools["fill"].annotations.read_only_hint is False
    assert tools["holes"].annotations and tools["holes"].annotations.read_only_hint is True
    search = tools["search"].input_schema["properties"]
    budget = search["budget"]["anyOf"][0]["properties"]
    assert budget["samples"]["anyOf"][0]["maximum"] == 1024


async def test_holes_of_a_file_from_the_repl(agent: Agent) -> None:
    out = await agent.call("holes", {"path": "Agents.lean"})
    assert out["source"] == "repl" and out["path"] == "Agents.lean"
    holes = {h["declaration"]: h for h in out["holes"]}
    assert list(holes) == ["easy", "div_self'", "bad"]  # sorries (failing tactics: the editor's)
    easy = holes["easy"]
    assert easy["kind"] == "sorry" and easy["line"] == 4
    assert easy["goal"] == "a b : Nat\nh : a ≤ b\n⊢ a < b + 1"
    assert easy["range"] == {"start": at(EASY), "end": {"line": 3, "character": 7}}


async def test_the_goal_at_a_position(agent: Agent) -> None:
    out = await agent.call("goal", {"path": "Agents.lean", "position": at((6, 4))})
    assert out["hole"]["declaration"] == "div_self'"
    assert out["hole"]["goal"] == "x : ℝ\nh : 0 < x\n⊢ x / x = 1"
    code, message, kind = await agent.error("goal", {"path": "Agents.lean", "position": at((0, 0))})
    assert kind == "position" and code == -32602
    assert "no sorry at line 0, character 0; the sorries are on lines 3, 6, 9" in message


async def test_verify_a_proof_a_declaration_and_a_snippet(agent: Agent) -> None:
    path = {"path": "Agents.lean"}
    out = await agent.call("verify", {**path, "hole": at(EASY), "proof": "omega"})
    assert out["verified"] and out["stage"] is None and out["declaration"] == "easy"
    assert out["checked"].endswith("a < b + 1 := by\n  omega")
    out = await agent.call("verify", {**path, "hole": at(EASY), "proof": "linarith"})
    assert not out["verified"] and out["stage"] == "lean"
    assert out["errors"][0]["message"] == "linarith failed to find a contradiction"
    out = await agent.call(
        "verify", {**path, "snippet": "theorem t (n : Nat) : n + 0 = n := by simp"}
    )
    assert out["verified"] and out["declaration"] == "t"
    out = await agent.call("verify", {**path, "declaration": "easy"})
    assert (out["verified"], out["stage"]) == (False, "gate")  # it still holds its sorry
    assert "sorry" in out["reason"]
    out = await agent.call(
        "verify", {**path, "snippet": "theorem four : 2 + 2 = 4 := by native_decide"}
    )
    assert out["stage"] == "gate" and "native" in out["reason"]
    code, message, kind = await agent.error("verify", {**path, "declaration": "nope"})
    assert kind == "position" and "no declaration named 'nope'" in message and "easy" in message


HOSTILE = [
    ("snippet", 'theorem t : True := by\n  #eval IO.println "pwned"\n  trivial', "`#eval`"),
    ("snippet", 'theorem t : True := trivial\n#eval IO.println "pwned"', "outside its one"),
    ("snippet", "theorem t : True := by\n  run_tac pure ()\n  trivial", "run_tac"),
    ("proof", 'trivial\n#eval IO.println "pwned"', "#eval"),
    ("proof", 'exact (by run_cmd IO.println "pwned"; trivial)', "run_cmd"),
]


@pytest.mark.parametrize(("field", "text", "why"), HOSTILE)
async def test_hostile_verify_input_is_refused_without_running(
    agent: Agent, field: str, text: str, why: str
) -> None:
    args: dict[str, Any] = {"path": "Agents.lean", field: text}
    if field == "proof":
        args["hole"] = at(EASY)
    out = await agent.call("verify", args)
    assert (out["verified"], out["stage"]) == (False, "gate")
    assert out["reason"].startswith("refused before Lean:") and why in out["reason"], out
    assert received(agent.log) == []  # the REPL never received it: it did not even start
    assert repl_processes(agent.repl) == 0


async def test_paths_are_confined_to_the_project(agent: Agent, tmp_path: Path) -> None:
    outside = tmp_path / "Outside.lean"
    outside.write_text("theorem x : True := sorry\n")
    (agent.project / "Link.lean").symlink_to(outside)
    (agent.project / "notes.txt").write_text("theorem x : True := sorry\n")
    (agent.project / "Dir.lean").mkdir()
    (agent.project / "Latin.lean").write_bytes(b"theorem caf\xe9 : True := sorry\n")
    for path, says in [
        ("../Outside.lean", "`..` is not allowed"),
        (str(outside), "is outside the project"),
        ("Link.lean", "is outside the project"),  # a symlink that leads out
        ("/etc/passwd", "is outside the project"),
        ("notes.txt", "is not a Lean file"),
        ("Dir.lean", "is not a regular file"),
        ("Missing.lean", "no such file in the project"),
        ("Latin.lean", "is not UTF-8 text"),
        ("Agents.lean\x00.txt", "NUL"),
    ]:
        for tool, extra in (
            ("holes", {}),
            ("verify", {"snippet": "theorem t : True := trivial"}),
            ("fill", {"write": True}),
        ):
            code, message, kind = await agent.error(tool, {"path": path, **extra})
            assert (code, kind) == (-32602, "path") and says in message, (tool, path, message)
    assert received(agent.log) == [] and repl_processes(agent.repl) == 0
    assert outside.read_text() == "theorem x : True := sorry\n"


@pytest.mark.parametrize("agent", [{"max_document_mb": 0.0001}], indirect=True)
async def test_sizes_are_bounded(agent: Agent) -> None:
    code, message, kind = await agent.error("holes", {"path": "Agents.lean"})
    assert kind == "size" and "over the 104 searched" in message and "maxDocumentMb" in message
    code, message, kind = await agent.error(
        "verify", {"path": "Agents.lean", "snippet": "x" * 400_001}
    )
    assert kind == "arguments" and "snippet: String should have at most 400000" in message


async def test_malformed_arguments_are_refused_naming_the_field(agent: Agent) -> None:
    cases = [
        ("holes", {"path": "Agents.lean", "recursive": True}, "recursive: unknown field"),
        ("holes", {}, "path: Field required"),
        ("holes", {"path": 3}, "path: Input should be a valid string"),
        (
            "search",
            {"path": "Agents.lean", "position": {"line": "3", "character": 2}},
            "position.line",
        ),
        (
            "search",
            {"path": "Agents.lean", "position": at(EASY), "budget": {"samples": 10**6}},
            "budget.samples",
        ),
        (
            "search",
            {"path": "Agents.lean", "position": {"line": 3, "character": 2, "x": 1}},
            "position.x: unknown field",
        ),
        ("fill", {"path": "Agents.lean", "write": "yes"}, "write: Input should be a valid boolean"),
        ("verify", {"path": "Agents.lean"}, "give exactly one of"),
        ("verify", {"path": "Agents.lean", "proof": "omega"}, "`hole` and `proof` go together"),
        ("doctor", {"verbose": True}, "verbose: unknown field"),
        ("no_such_tool", {}, "unknown tool 'no_such_tool'"),
    ]
    for tool, args, says in cases:
        code, message, kind = await agent.error(tool, args)
        assert (code, kind) == (-32602, "arguments") and says in message, (tool, message)
        assert "10000" not in message or "1024" in message  # bounds, not the caller's values


async def test_a_search_reports_progress_and_keeps_its_trace(agent: Agent) -> None:
    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    out = await agent.call(
        "search", {"path": "Agents.lean", "position": at(EASY)}, progress_callback=on_progress
    )
    assert out["status"] == "solved" and out["proofs"][0]["script"] == "omega"
    assert out["proofs"][0]["how"] == "tactic"
    assert "trying symbolic tactics" in progress
    assert any(p.startswith("verified a proof (tactic)") for p in progress)
    assert out["notices"] and "4.24.0" in out["notices"][0]  # said once, in the first result
    trace = await agent.client.read_resource(out["trace"])
    body = json.loads(trace.contents[0].text)  # type: ignore[union-attr]
    assert body["declaration"] == "easy" and body["status"] == "solved"
    assert any(a["candidate"] == "omega" and a["outcome"] == "verified" for a in body["attempts"])
    listed = await agent.client.list_resources()
    assert out["trace"] in [str(r.uri) for r in listed.resources]
    again = await agent.call("search", {"path": "Agents.lean", "position": at(EASY)})
    assert again["notices"] == [] and again["proofs"][0]["how"] == "cache"
    with pytest.raises(MCPError) as caught:
        await agent.client.read_resource("lean-sidecar://trace/nope")
    assert "no such trace" in caught.value.error.message


async def test_the_budget_is_a_parameter(agent: Agent) -> None:
    out = await agent.call(
        "search",
        {"path": "Agents.lean", "position": at(DIV), "budget": {"samples": 0, "seconds": 5}},
    )
    assert out["status"] == "unsolved" and out["samples"] == 0 and out["proofs"] == []


async def test_fill_returns_the_diff_and_writes_only_verified_text_when_asked(
    agent: Agent,
) -> None:
    target = agent.project / "Agents.lean"
    before = target.read_text()
    out = await agent.call("fill", {"path": "Agents.lean"})
    assert not out["written"] and target.read_text() == before  # not asked: nothing written
    assert "-  sorry\n+  omega\n" in out["diff"] and out["diff"].startswith("--- Agents.lean")
    assert (out["solved"], out["total"]) == (1, 3)
    status = {h["declaration"]: h["status"] for h in out["holes"]}
    # without a model the search tries no negation ("is this goal false?" is `refute`'s)
    assert status == {"easy": "solved", "div_self'": "unsolved", "bad": "unsolved"}
    out = await agent.call("fill", {"path": "Agents.lean", "position": at(EASY), "write": True})
    assert out["written"] and out["total"] == 1
    assert target.read_text() == before.replace(
        "a < b + 1 := by\n  sorry", "a < b + 1 := by\n  omega"
    )
    out = await agent.call("fill", {"path": "Agents.lean", "position": at(DIV), "write": True})
    assert not out["written"] and out["diff"] == ""  # nothing verified: the file is left alone


async def test_refute_says_whether_the_goal_is_false(agent: Agent) -> None:
    out = await agent.call("refute", {"path": "Agents.lean", "position": at(BAD)})
    assert out["goal_is_false"] and out["statement"].startswith("theorem sidecar_negation")
    assert out["proof"] == "omega" and out["goal"] == "n : ℕ\n⊢ n + 1 = n"
    out = await agent.call("refute", {"path": "Agents.lean", "position": at(EASY)})
    assert not out["goal_is_false"] and "may be true" in out["note"]
    assert repl_processes(agent.repl) >= 1


async def test_replacements_for_a_failing_tactic(agent: Agent) -> None:
    out = await agent.call("tactic_replacements", {"path": "Agents.lean", "position": at(LINARITH)})
    assert out["status"] == "done" and out["goal"] == "a b : ℚ\nh : a < b\n⊢ a ≤ b"
    assert out["suggestions"][0] == {"tactic": "exact le_of_lt h", "closes": True, "remaining": []}
    assert out["suggestions"][1]["tactic"] == "apply le_of_lt"
    assert out["suggestions"][1]["remaining"] == ["a b : ℚ\nh : a < b\n⊢ a < b"]
    code, message, kind = await agent.error(
        "tactic_replacements", {"path": "Agents.lean", "position": at((0, 0))}
    )
    assert kind == "position" and "not inside a proof" in message


async def test_doctor(agent: Agent) -> None:
    out = await agent.call("doctor", {})
    assert out["can_search"] and out["checks"][1]["message"].endswith("for proj")


async def test_an_internal_failure_is_a_message_not_a_traceback(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lean_sidecar.agents.tools as tools_module

    async def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("secret internals /home/user/.ssh")

    monkeypatch.setattr(tools_module, "file_holes", broken)
    code, message, kind = await agent.error("holes", {"path": "Agents.lean"})
    assert (code, kind) == (-32603, "internal")
    assert message == (
        "holes failed: an internal error (RuntimeError); the sidecar's log has the details"
    )


@pytest.mark.parametrize("agent", [{"repl_path": "/nonexistent/repl"}], indirect=True)
async def test_no_lean_is_said_with_the_setting_to_fix(agent: Agent) -> None:
    code, message, kind = await agent.error("holes", {"path": "Agents.lean"})
    assert (code, kind) == (-32603, "lean")
    assert "LEAN_SIDECAR_REPL_PATH" in message, message


def test_the_mcp_sdk_is_only_imported_by_the_agents_package() -> None:
    """(import-linter holds the rest; this guards the module name: no `mcp` of our own.)"""
    root = Path(__file__).resolve().parent.parent / "server" / "lean_sidecar"
    assert not (root / "mcp").exists() and not (root / "mcp.py").exists()
    assert os.path.basename(Client.__module__.split(".")[0]) == "mcp"
