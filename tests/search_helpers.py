"""Building sites, tasks and engines over the stand-ins, shared by the search tests and benches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lean_bridge.hole_site import HoleSite
from lean_bridge.holes import TextModel
from lean_bridge.repl_pool import ReplPool, ReplSettings
from lean_bridge.sorry_scan import scan_sorries
from lean_sidecar.prover.task import ProofTask, build_task
from tests.conftest import PROJECT
from tests.standins.toolchain import make_toolchain

REPL_FACTS = PROJECT / "repl_facts.json"


def site_and_task(text: str, nth: int, goal: str | None) -> tuple[HoleSite, ProofTask | None]:
    model = TextModel(text)
    site = HoleSite.at(text, scan_sorries(text)[nth].start, model=model)
    assert site is not None
    return site, build_task(model, site.decl, site.start, site.end, goal)


def make_pool(tmp: Path, facts: Path = REPL_FACTS, size: int = 2, timeout: float = 10) -> ReplPool:
    log = tmp / "repl.log"
    lake, repl = make_toolchain(tmp / "tc", facts, log)
    pool = ReplPool(
        ReplSettings(
            project_dir=PROJECT,
            repl_path=repl,
            lake_path=str(lake),
            pool_size=size,
            timeout=timeout,
            sandbox_writable=(tmp,),
        )
    )
    pool.log = log  # type: ignore[attr-defined]
    return pool


def repl_received(pool: ReplPool) -> list[dict[str, Any]]:
    path: Path = pool.log  # type: ignore[attr-defined]
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def lean_answer(statement: str, proof: str, thinking: str = "Let me think.") -> str:
    return f"<think>{thinking}</think>\n```lean4\n{statement}\n{proof}\n```"
