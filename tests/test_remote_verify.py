"""Verification on Kimina Lean Servers (lean_bridge/remote_pool.py), against stand-ins built from
Kimina's source (tests/standins/kimina_server.py) over the stand-in REPL: the same verdicts as the
local pool, the trust chain on our side (a server that cannot give the parse of record, runs
another Lean or would check another text is refused), the key kept secret, and servers killed
mid-run — one (its checks go on elsewhere) and all (``eval`` stops, keeps what is done, resumes)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lean_bridge.kimina import KiminaServer
from lean_bridge.kimina_snippet import (
    Lines,
    Malformed,
    NotSendable,
    build_snippet,
    split_answer,
)
from lean_bridge.remote_pool import RemotePool, VerifierLost, remote_settings
from lean_bridge.repl_pool import ReplFailed, ReplUnavailable
from lean_bridge.verifier import Verifier
from tests.conftest import PROJECT, ROOT
from tests.kimina_helpers import KiminaProc, start_servers, wait_until
from tests.search_helpers import make_pool, site_and_task
from tests.test_eval import eval_command, script_problems, slice20
from tests.test_verifier import TEXT

FACTS = json.loads((PROJECT / "repl_facts.json").read_text())


def remote(servers: list[KiminaProc], project: Path, **kw: Any) -> RemotePool:
    key = kw.pop("key", None)
    timeout = kw.pop("timeout", 5)
    return RemotePool(
        [KiminaServer(s.url, key, concurrency=s.max_repls) for s in servers],
        remote_settings(project, timeout),
        **kw,
    )


@pytest.fixture
async def one_server(tmp_path: Path) -> AsyncIterator[tuple[KiminaProc, Path]]:
    servers, project = start_servers(tmp_path, FACTS, 1)
    yield servers[0], project
    servers[0].kill()


# ---- the layout of a check as one snippet, and its answer cut per command ----------------------


def test_a_check_is_one_snippet_whose_header_the_splitter_keeps_as_it_is() -> None:
    prefix = "-- a comment\nimport Mathlib\nimport Aesop -- trailing\n\nopen Real\n"
    snip = build_snippet(
        prefix, ["axiom m : True", "theorem t : True := by\n  trivial", "#print axioms t"]
    )
    lines = snip.code.split("\n")
    assert lines[:3] == ["import Mathlib", "import Aesop", "-- lean-sidecar"]
    assert snip.header_lines == 2
    body = lines[2:]
    assert [body[s - 1] for s in snip.starts] == [
        "axiom m : True",
        "theorem t : True := by",
        "#print axioms t",
    ]
    assert snip.ends == (snip.starts[1], snip.starts[2], snip.starts[2] + 1)
    after = build_snippet("import Mathlib\nprivate def f := 1\n", ["#check f"])
    assert after.code == "import Mathlib\n-- lean-sidecar\n\nprivate def f := 1\n#check f\n"
    assert build_snippet("theorem x : True := trivial\n", ["#check x"]).code.startswith(
        "import Init\n-- lean-sidecar\n"
    ), "a file without imports still has a header (Kimina reuses env 0 only behind one)"


@pytest.mark.parametrize(
    ("prefix", "cmd", "in_file", "says"),
    [
        ("import Mathlib.Tactic\n", "theorem t : True := trivial", True, "widens"),
        ("prelude\nimport Init.Core\n", "theorem t : True := trivial", True, "prelude"),
        ("public import Mathlib\n", "theorem t : True := trivial", True, "modified"),
        ("import Mathlib\r\nopen Real\r\n\r", "theorem t : True := trivial", True, r"U\+000D"),
        ("import Mathlib\n", "theorem t : True := by\u2028  trivial", False, r"U\+2028"),
    ],
)
def test_what_the_server_would_check_differently_is_not_sent(
    prefix: str, cmd: str, in_file: bool, says: str
) -> None:
    with pytest.raises(NotSendable, match=says) as caught:
        build_snippet(prefix, [cmd])
    assert caught.value.in_file is in_file


def tree(
    line: int, column: int, end_line: int, kind: str = "Lean.Parser.Command.declaration"
) -> dict[str, Any]:
    rng = {
        "start": {"line": line, "column": column},
        "finish": {"line": end_line, "column": 5},
        "synthetic": False,
    }
    return {
        "kind": "CommandInfo",
        "children": [],
        "node": {
            "stx": {"range": rng, "kind": kind, "pp": None, "argKinds": []},
            "elaborator": "e",
        },
    }


def message(line: int | None, data: str, severity: str = "error") -> dict[str, Any]:
    m: dict[str, Any] = {"severity": severity, "data": data}
    if line is not None:
        m["pos"] = {"line": line, "column": 2}
    else:
        m["pos"] = None
    return m


def test_the_answer_is_cut_at_the_commands_lines_as_a_local_repl_would_report_it() -> None:
    snip = build_snippet(
        "import Mathlib\nopen Real\n", ["theorem t : True := by\n  simp", "#print axioms t"]
    )
    h = snip.header_lines
    decl, audit = snip.starts
    response = {
        "messages": [
            message(h + 2, "an error in the file's prefix"),  # not the commands'
            message(h + decl + 1, "simp failed"),
            message(h + audit, "'t' depends on axioms: [propext]", "info"),
        ],
        "infotree": [
            tree(2, 0, 2),
            tree(decl, 0, decl + 1),
            tree(audit, 0, audit, "Lean.Parser.Command.printAxioms"),
        ],
    }
    got = split_answer(snip, response, Lines(), frozenset({0}), 1.5)
    assert [m.data for m in got[0].lean_messages] == ["simp failed"]
    assert got[0].lean_messages[0].start_pos.line == 2  # the second line of the declaration
    assert [m.data for m in got[1].lean_messages] == ["'t' depends on axioms: [propext]"]
    assert got[1].lean_messages[0].start_pos.line == 1
    assert got[0].infotree is not None and len(got[0].infotree) == 1
    assert got[0].infotree[0].node is not None and got[0].infotree[0].node.stx.range.start.line == 1
    assert got[0].seconds == 1.5 and got[1].error is None


def test_a_command_lean_did_not_read_as_its_own_is_not_reported_as_run() -> None:
    """A declaration that swallows the audit's line (one tree over both), or an audit read off
    its own line, leaves the audit with no command of its own: an error, not an empty report."""
    snip = build_snippet("import Mathlib\n", ["theorem t : True := by\n  simp", "#print axioms t"])
    decl, audit = snip.starts
    swallowed = {"infotree": [tree(decl, 0, audit)], "messages": []}
    got = split_answer(snip, swallowed, Lines(), frozenset({0}), 0.0)
    assert got[1].error is not None and "read 0 commands" in got[1].error
    shifted = {"infotree": [tree(decl, 0, decl + 1), tree(audit, 4, audit)], "messages": []}
    got = split_answer(snip, shifted, Lines(), frozenset({0}), 0.0)
    assert got[1].error is not None and "other lines" in got[1].error


def test_what_cannot_be_placed_is_never_dropped() -> None:
    """A sorry without a position is every command's (none may ignore it); a message without
    one is not the REPL's shape at all: the answer is refused whole."""
    snip = build_snippet("import Mathlib\n", ["theorem t : True := trivial", "#print axioms t"])
    sorry = {"goal": "⊢ True"}
    anywhere = {"messages": [message(1 + snip.header_lines, "w", "warning")], "sorries": [sorry]}
    got = split_answer(snip, anywhere, Lines(), frozenset(), 0.0)
    assert [len(r.lean_sorries) for r in got] == [1, 1]
    with pytest.raises(Malformed):
        split_answer(snip, {"messages": [message(None, "somewhere")]}, Lines(), frozenset(), 0.0)


# ---- the same verdicts as the local pool -------------------------------------------------------

CASES = [
    (0, "omega", True, None),
    (0, "linarith", False, "lean"),
    (0, "have h2 : a < b + 1 := by omega\nexact h2", True, None),
    (1, "simp", True, None),
    (2, "omega", True, None),  # the declaration's other hole is the verifier's marker axiom
    (4, "decide", True, None),
    (4, "native_decide", False, "gate"),
    (0, "slow_tactic", False, "repl"),
    (0, "omega", True, None),  # after a timeout, the next check has a REPL again
]


async def verdicts(v: Verifier) -> list[tuple[bool, str | None]]:
    out = []
    for nth, script, _, _ in CASES:
        site = site_and_task(TEXT, nth, None)[0]
        verdict = await v.check(site, script)
        out.append((verdict.ok, verdict.stage))
    return out


async def test_the_remote_verdicts_are_the_local_pools(
    tmp_path: Path, one_server: tuple[KiminaProc, Path]
) -> None:
    server, project = one_server
    pool = remote([server], project, timeout=2)
    local = make_pool(tmp_path, PROJECT / "repl_facts.json", size=2, timeout=2)
    try:
        remote_v, local_v = await verdicts(Verifier(pool)), await verdicts(Verifier(local))
    finally:
        await pool.close()
        await local.close()
    assert remote_v == local_v == [(ok, stage) for _, _, ok, stage in CASES]
    assert pool.lean_version == (4, 24, 0)
    # what the server ran: each check one snippet, the file's header as its own, the body at env 0
    sent = [r["code"] for r in server.checked()]
    assert len(sent) == sum(
        1 for *_, stage in CASES if stage not in ("gate", "repl")
    )  # + a timeout
    assert all(code.startswith("import Mathlib\n-- lean-sidecar\n") for code in sent)
    assert all("#print axioms" in code for code in sent)


async def test_a_crashing_check_is_that_checks_failure_not_the_servers(
    one_server: tuple[KiminaProc, Path],
) -> None:
    server, project = one_server
    pool = remote([server], project)
    try:
        site = site_and_task(TEXT, 0, None)[0]
        crash = await Verifier(pool).check(site, "crash_tactic")
        assert not crash.ok and crash.stage == "repl" and "HTTP 500" in (crash.reason or "")
        assert (await Verifier(pool).check(site, "omega")).ok
        assert pool.lost is None
    finally:
        await pool.close()


async def test_files_the_server_would_check_in_another_environment_stop_with_the_reason(
    one_server: tuple[KiminaProc, Path],
) -> None:
    server, project = one_server
    pool = remote([server], project)
    text = TEXT.replace("import Mathlib", "import Mathlib.Tactic")
    try:
        with pytest.raises(ReplFailed, match=r"widens every `import Mathlib\.…`"):
            await Verifier(pool).check(site_and_task(text, 0, None)[0], "omega")
    finally:
        await pool.close()


# ---- what a server must give before it is used -------------------------------------------------


async def test_a_server_without_the_info_tree_is_refused(tmp_path: Path) -> None:
    servers, project = start_servers(tmp_path, FACTS, 1, no_infotree=True)
    pool = remote(servers, project)
    try:
        with pytest.raises(ReplUnavailable, match="returned no info tree when asked for one"):
            await pool.start()
    finally:
        await pool.close()
        servers[0].kill()


async def test_a_server_of_another_lean_version_is_refused(
    one_server: tuple[KiminaProc, Path],
) -> None:
    server, project = one_server
    pool = remote([server], project, expected_version=(4, 26, 0))
    try:
        with pytest.raises(ReplUnavailable, match=r"run Lean 4\.24\.0, the project 4\.26\.0"):
            await pool.start()
    finally:
        await pool.close()


async def test_the_key_goes_only_in_the_header_and_never_into_errors_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = "kimina-secret-9f2c"
    servers, project = start_servers(tmp_path, FACTS, 1, api_key=key)
    caplog.set_level(logging.DEBUG)
    try:
        missing = remote(servers, project)
        with pytest.raises(ReplUnavailable, match=r"HTTP 401.*Missing API key.*verifierApiKey"):
            await missing.start()
        await missing.close()
        wrong = remote(servers, project, key="not-" + key)
        with pytest.raises(ReplUnavailable, match="Invalid API key") as caught:
            await wrong.start()
        assert key not in str(caught.value)
        await wrong.close()
        right = remote(servers, project, key=key)
        assert (await Verifier(right).check(site_and_task(TEXT, 0, None)[0], "omega")).ok
        await right.close()
        with pytest.raises(ValueError, match="not in the URL"):
            KiminaServer(f"http://user:{key}@127.0.0.1:1")
    finally:
        servers[0].kill()
    assert key not in caplog.text


# ---- servers killed mid-run ------------------------------------------------------------------------


async def test_a_server_killed_mid_run_hands_its_checks_to_the_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    facts = {**FACTS, "latency": 0.3}
    servers, project = start_servers(tmp_path, facts, 2)
    pool = remote(servers, project, retry_seconds=2)
    v = Verifier(pool)
    site = site_and_task(TEXT, 0, None)[0]
    try:
        await pool.start()
        checks = [asyncio.ensure_future(v.check(site, s)) for s in ["omega", "linarith"] * 8]
        await asyncio.to_thread(
            wait_until, lambda: len(servers[0].checked()) >= 2, 30, "checks on A"
        )
        servers[0].kill()  # SIGKILL: its in-flight checks break mid-request
        results = await asyncio.gather(*checks)
        assert [r.ok for r in results] == [True, False] * 8
        assert all(r.stage in (None, "lean") for r in results)
        assert f"verifier server {servers[0].url} stopped answering" in caplog.text
        assert pool.lost is None
        # the last one goes too: after `retry_seconds`, nothing can be checked, and it says why
        servers[1].kill()
        with pytest.raises(VerifierLost, match="no verifier server answered for 2 s"):
            await v.check(site, "omega")
        assert pool.lost is not None and servers[1].url in pool.lost
        # a long-lived user (the editor) checks again once a server is back; the loss stays said
        # (a batch run that lost Lean stops regardless: its runner reads `lost`)
        await asyncio.to_thread(servers[1].start)
        for _ in range(100):
            try:
                verdict = await v.check(site, "omega")
                break
            except VerifierLost:
                await asyncio.sleep(0.2)
        assert verdict.ok and pool.lost is not None
    finally:
        await pool.close()
        for s in servers:
            s.kill()


async def test_a_server_that_comes_back_is_used_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    servers, project = start_servers(tmp_path, FACTS, 1)
    pool = remote(servers, project, retry_seconds=30)
    v = Verifier(pool)
    site = site_and_task(TEXT, 0, None)[0]
    try:
        assert (await v.check(site, "omega")).ok
        servers[0].kill()
        later = asyncio.ensure_future(v.check(site, "omega"))
        await asyncio.sleep(1.0)
        await asyncio.to_thread(servers[0].start)  # the same port, a fresh server
        assert (await later).ok
        assert "answers again" in caplog.text
    finally:
        await pool.close()
        servers[0].kill()


# ---- eval over stand-in servers ---------------------------------------------------------------------


def eval_setup(
    tmp: Path, n_servers: int, latency: float
) -> tuple[list[KiminaProc], Path, list[Any], Any, str]:
    from tests.standins.openai_endpoint import StandInEndpoint

    bench, problems = slice20(tmp)
    facts, rules = script_problems(problems)
    (tmp / "tc").mkdir()
    (tmp / "tc" / "facts.json").write_text(json.dumps(facts, ensure_ascii=False))
    ep = StandInEndpoint(script=rules)
    url = ep.start_in_thread()
    servers, _ = start_servers(tmp, {**facts, "latency": latency}, n_servers)
    return servers, bench, problems, ep, url


def run_eval_remote(
    tmp: Path, bench: Path, url: str, servers: list[KiminaProc], *extra: str, retry: float = 30
) -> subprocess.Popen[str]:
    cmd, env = eval_command(tmp, bench, url, *extra)
    env = {
        **env,
        "LEAN_SIDECAR_VERIFIER_SERVERS": ",".join(s.url for s in servers),
        "LEAN_SIDECAR_VERIFIER_RETRY_SECONDS": str(retry),
    }
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_eval_goes_on_when_one_of_two_servers_is_killed(tmp_path: Path) -> None:
    servers, bench, problems, ep, url = eval_setup(tmp_path, 2, 0.1)
    out = tmp_path / "results.jsonl"
    try:
        proc = run_eval_remote(tmp_path, bench, url, servers, "--limit", "10")
        wait_until(lambda: len(rows(out)) >= 2 or proc.poll() is not None, 120, "two rows")
        servers[0].kill()
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        for s in servers:
            s.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert "solved 10/10 (100.0%)" in stdout  # as test_eval's local run of the same script
    assert f"verifier server {servers[0].url} stopped answering" in stderr
    assert servers[1].checked(), "the other server took the checks"


def test_eval_stops_when_every_server_is_gone_and_resumes_when_one_is_back(tmp_path: Path) -> None:
    servers, bench, problems, ep, url = eval_setup(tmp_path, 1, 0.1)
    out = tmp_path / "results.jsonl"
    try:
        proc = run_eval_remote(tmp_path, bench, url, servers, "--concurrency", "1", retry=1)
        wait_until(lambda: len(rows(out)) >= 3 or proc.poll() is not None, 120, "three rows")
        servers[0].kill()
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 3, stderr[-3000:]
        assert "error: eval stopped: no verifier server answered for 1 s" in stderr
        assert "run the same command again to resume" in stderr
        kept = rows(out)
        assert 3 <= len(kept) < 20
        # nothing that the loss cut short was written as if it had been searched
        assert all(r["status"] == "solved" for r in kept), kept
        servers[0].start()
        again = run_eval_remote(tmp_path, bench, url, servers, "--concurrency", "2")
        stdout, stderr = again.communicate(timeout=240)
    finally:
        for s in servers:
            s.kill()
    assert again.returncode == 0, stderr[-3000:]
    assert f"resuming: {len(kept)} problem(s) already in" in stderr
    assert "solved 13/20 (65.0%)" in stdout
    names = [r["name"] for r in rows(out)]
    assert sorted(names) == sorted(p.name for p in problems) and len(names) == 20


# ---- settings and the endpoints' round-robin ---------------------------------------------------


def test_the_verifier_key_is_a_secret_setting() -> None:
    from lean_sidecar.settings import SECRET_FIELDS, load_settings

    s = load_settings(
        None,
        {
            "LEAN_SIDECAR_VERIFIER_API_KEY": "kimina-very-secret",
            "LEAN_SIDECAR_VERIFIER_SERVERS": "http://a:8000/,http://b:8000",
        },
    )
    assert s.verifier_servers == ["http://a:8000", "http://b:8000"]
    assert s.verifier_api_key is not None
    assert "kimina-very-secret" not in repr(s) and "kimina-very-secret" not in str(s.redacted())
    assert "verifier_api_key" in SECRET_FIELDS  # taken out of the environment once read


async def test_spread_endpoints_take_requests_in_turn() -> None:
    from lean_sidecar.prover.endpoint import EndpointClient, GenerationRequest
    from tests.standins.openai_endpoint import StandInEndpoint

    eps = [
        StandInEndpoint(script=[{"match": "", "responses": [{"texts": ["x"]}]}]) for _ in range(2)
    ]
    urls = [await ep.start() for ep in eps]
    spread = EndpointClient(urls, spread=True)
    failover = EndpointClient(urls)
    try:
        request = GenerationRequest("completion", None, 1, 0.6, 0.95, 4, prompt="p")
        for _ in range(4):
            await spread.generate(request)
        assert [len(ep.generation_requests()) for ep in eps] == [2, 2]
        for _ in range(2):
            await failover.generate(request)
        assert [len(ep.generation_requests()) for ep in eps] == [4, 2]
    finally:
        await spread.close()
        await failover.close()
        for ep in eps:
            await ep.stop()


def test_the_documented_eval_command_runs_as_written(tmp_path: Path) -> None:
    """docs/remote-verification.md's eval block, run by bash as it stands, with its variables
    pointing at stand-ins: two verifier servers, two endpoints (requests spread over both)."""
    import re
    import sys

    from tests.standins.openai_endpoint import StandInEndpoint

    doc = (ROOT / "docs" / "remote-verification.md").read_text()
    marker = "<!-- tested: tests/test_remote_verify.py::test_the_documented_eval_command_runs_as_written -->"
    block = re.search(re.escape(marker) + r"\n```sh\n(.*?)```", doc, re.S)
    assert block is not None, "the tested block is gone from the doc"
    servers, bench, problems, ep, url = eval_setup(tmp_path, 2, 0.0)
    second = StandInEndpoint(script=json.loads(json.dumps(ep.script)))
    url2 = second.start_in_thread()
    _, base = eval_command(tmp_path, bench, url)
    env = {
        **base,
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "BENCH": str(bench),
        "PROJECT": str(tmp_path / "proj"),
        "GPU1": url,
        "GPU2": url2,
        "LEAN_SIDECAR_VERIFIER_SERVERS": ",".join(s.url for s in servers),
    }
    try:
        done = subprocess.run(
            ["bash", "-c", block.group(1)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        for s in servers:
            s.kill()
    assert done.returncode == 0, done.stderr[-3000:]
    assert "solved 13/20 (65.0%)" in done.stdout
    assert len(rows(tmp_path / "runs" / "remote.jsonl")) == 20
    assert ep.generation_requests() and second.generation_requests(), "spread over both endpoints"
    assert servers[0].checked() and servers[1].checked(), "checks on both servers"
