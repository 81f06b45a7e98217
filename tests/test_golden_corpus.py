"""The real Lean transcripts of tests/fixtures/lean-golden, read into requests and answers.

Shared by the golden replay tests; nothing here interprets Lean, it only splits files the way
the REPL and Lean's interactive test runner do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "fixtures" / "lean-golden"


@dataclass(frozen=True)
class Transcript:
    name: str
    raw_input: str
    requests: list[dict[str, Any]]
    responses: list[dict[str, Any]]


def _requests(text: str) -> list[dict[str, Any]]:
    """Blank-line separated requests, each joined line by line as the REPL joins them."""
    out = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [line.rstrip() for line in chunk.split("\n") if line.strip()]
        if lines and not lines[0].startswith(("#", "--")):
            out.append(json.loads("".join(lines)))
    return out


def repl_transcripts() -> list[Transcript]:
    found = []
    for path in sorted((GOLDEN / "repl").glob("*.in")):
        out = path.with_suffix(".expected.out")
        text = path.read_text(encoding="utf-8")
        answers = [
            json.loads(chunk)
            for chunk in out.read_text(encoding="utf-8").split("\n\n")
            if chunk.strip()
        ]
        found.append(Transcript(path.stem, text, _requests(text), answers))
    return found


def json_values(text: str) -> Iterator[Any]:
    """The JSON values of an interactive ``.expected.out`` (pretty-printed, one after another;
    lines that are not JSON, such as ``dbg_trace`` output, are skipped)."""
    decoder = json.JSONDecoder()
    i = 0
    while i < len(text):
        if text[i] in "{[n":
            try:
                value, i = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                i = text.find("\n", i) + 1 or len(text)
                continue
            yield value
        else:
            i = text.find("\n", i) + 1 or len(text)


def interactive(name: str) -> list[Any]:
    return list(json_values((GOLDEN / "interactive" / name).read_text(encoding="utf-8")))


def plain_goal_answers() -> list[tuple[dict[str, Any], Any]]:
    """(request params, answer) pairs of plainGoal.lean.expected.out and anonHyp."""
    pairs: list[tuple[dict[str, Any], Any]] = []
    for name in ("plainGoal.lean.expected.out", "anonHyp.lean.expected.out"):
        values = interactive(name)
        pairs.extend(zip(values[0::2], values[1::2], strict=True))
    return pairs


def diagnostics_reports() -> list[dict[str, Any]]:
    """Every publishDiagnostics params of the interactive expectations."""
    reports = []
    for path in sorted((GOLDEN / "interactive").glob("*.expected.out")):
        for value in json_values(path.read_text(encoding="utf-8")):
            if isinstance(value, dict) and "diagnostics" in value:
                reports.append(value)
    return reports


def all_goal_strings() -> list[str]:
    """Every goal Lean printed in the corpus: REPL sorries and goals, plainGoal answers."""
    goals: list[str] = []
    for t in repl_transcripts():
        for r in t.responses:
            goals.extend(s["goal"] for s in r.get("sorries", []) if "goal" in s)
            goals.extend(r.get("goals", []))
    for _, answer in plain_goal_answers():
        if answer:
            goals.extend(answer["goals"])
    return goals


def test_the_corpus_pairs_every_request_with_lean_s_answer() -> None:
    transcripts = repl_transcripts()
    assert len(transcripts) >= 30
    for t in transcripts:
        assert len(t.requests) == len(t.responses), t.name
    assert len(plain_goal_answers()) >= 40
    assert len(diagnostics_reports()) >= 8
