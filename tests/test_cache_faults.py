"""A proof cache that cannot be used is no cache, said once: never a reason for a search to fail.

Through the real front ends (`fill` as a subprocess, the language server over LSP) with a cache
path the user could have set: a file that is not a database (a damaged cache), a folder that
cannot be created (the path's parent is a file: what a read-only or wrong location gives), and a
cache that stops taking writes while in use (SQLite's own error for a file made read-only)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lean_sidecar.search.cache import ProofCache, open_cache
from tests.conftest import sidecar_command, standin_lean_command
from tests.search_helpers import site_and_task
from tests.test_fill_cli import run_fill
from tests.test_fill_sorry_lsp import FACTS, start
from tests.test_never_silent_lsp import search_line

TEXT = "theorem a_thm (n : Nat) : n + 0 = n := by\n  sorry\n"
GOAL = "n : Nat\n⊢ n + 0 = n"


def damaged(tmp: Path) -> Path:
    path = tmp / "damaged.sqlite"
    path.write_bytes(b"this is not an SQLite database\n" * 200)
    return path


def unwritable(tmp: Path) -> Path:
    (tmp / "a-file").write_text("")
    return tmp / "a-file" / "cache.sqlite"  # its folder cannot be created


def test_fill_with_a_damaged_or_unwritable_cache_fills_and_says_so_once(tmp_path: Path) -> None:
    for name, path in (("damaged", damaged(tmp_path)), ("unwritable", unwritable(tmp_path))):
        done = run_fill(
            tmp_path / name, "--quiet", env_extra={"LEAN_SIDECAR_CACHE_PATH": str(path)}
        )
        assert done.returncode == 1, done.stderr  # as with a cache: two holes need a model
        assert "easy:4" in done.stdout and "3/5 holes filled" in done.stdout, (
            done.stdout
        )  # the cascade alone
        told = [line for line in done.stderr.splitlines() if "proof cache" in line]
        assert len(told) == 1, done.stderr
        assert str(path) in told[0] and "searching without it" in told[0]
        assert "LEAN_SIDECAR_CACHE_PATH" in told[0]  # what to set, in the CLI's terms
        assert "Traceback" not in done.stderr


def test_a_cache_that_fails_in_use_is_told_once_and_then_holds_nothing(
    tmp_path: Path,
) -> None:
    told: list[str] = []
    cache, why = open_cache(tmp_path / "c.sqlite", on_failure=told.append)
    assert cache is not None and why is None
    site = site_and_task(TEXT, 0, GOAL)[0]
    cache._db.execute("PRAGMA query_only = ON")  # every write fails from now on
    for script in ("simp", "omega"):
        cache.store(site, GOAL, "m", script, "model")
    assert cache.lookup(site, GOAL, "m") is None
    assert len(told) == 1 and "readonly database" in told[0]


def test_opening_refuses_what_is_not_a_database(tmp_path: Path) -> None:
    cache, why = open_cache(damaged(tmp_path))
    assert cache is None and why is not None and "not a database" in why
    try:
        ProofCache(damaged(tmp_path))
    except sqlite3.DatabaseError:
        pass
    else:
        raise AssertionError("a damaged file opened as a cache")


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=sidecar_command(standin_lean_command(FACTS)))
)
async def client(lsp_client: LanguageClient):
    lsp_client.feature("workspace/codeAction/refresh")(lambda _p: None)
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_the_editors_search_works_without_its_cache_and_says_so_once(
    client: LanguageClient, tmp_path: Path
) -> None:
    path = damaged(tmp_path)
    client.set_configuration({"cachePath": str(path), "tactics": ["omega"]}, section="leanSidecar")
    uri = await start(client, None, tmp_path)
    await asyncio.sleep(0.2)  # workspace/configuration pulled
    first = await search_line(client, uri, 3)
    again = await search_line(client, uri, 6)
    assert first["status"] == "solved" and again["status"] in ("solved", "unsolved")
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    cache_notes = [m for m in warnings if "proof cache" in m]
    assert len(cache_notes) == 1, warnings
    assert str(path) in cache_notes[0] and "`cachePath`" in cache_notes[0]
    assert not [m for m in client.messages if m.type == types.MessageType.Error]
