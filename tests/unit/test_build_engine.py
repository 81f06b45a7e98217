"""build_engine, the one wiring of REPL pool → verifier → endpoint → cache → engine."""

from __future__ import annotations

from pathlib import Path

from lean_sidecar.search.build import build_engine
from lean_sidecar.settings import Settings


async def test_a_repl_that_cannot_start_leaves_no_verifier_and_says_why(tmp_path: Path) -> None:
    project = tmp_path / "project"
    repl = tmp_path / "repl"
    for folder, version in ((project, "v4.19.0"), (repl, "v4.20.0")):
        folder.mkdir()
        (folder / "lean-toolchain").write_text(f"leanprover/lean4:{version}\n")
    settings = Settings(repl_path=str(repl), cache_path=str(tmp_path / "cache.db"))
    built = await build_engine(settings, project)
    try:
        assert built.engine.verifier is None
        assert built.setup_error is not None and "built for" in built.setup_error
        assert built.engine.endpoint is None  # no endpoint configured
        assert built.engine.cache is not None
    finally:
        await built.close()


async def test_eval_style_wiring_without_repl_start_cache_or_endpoint(tmp_path: Path) -> None:
    settings = Settings(endpoints=["http://127.0.0.1:9/v1"], cache_path=str(tmp_path / "c.db"))
    built = await build_engine(
        settings, None, start_repl=False, use_cache=False, use_endpoint=False
    )
    try:
        assert built.setup_error is None and built.engine.verifier is not None
        assert built.engine.cache is None and built.engine.endpoint is None
        assert not (tmp_path / "c.db").exists()
    finally:
        await built.close()
    with_endpoint = await build_engine(settings, None, start_repl=False, use_cache=False)
    try:
        assert with_endpoint.engine.endpoint is not None
    finally:
        await with_endpoint.close()
