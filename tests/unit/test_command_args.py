"""The commands' argument, read once: what a code action or a keybinding sends."""

from __future__ import annotations

import pytest

from lean_sidecar.lsp.command_args import CommandArgs


def test_a_code_actions_argument() -> None:
    args = CommandArgs.read(
        {"uri": "file:///a.lean", "version": 3, "position": {"line": 4, "character": 2}}
    )
    assert (args.document, args.line, args.character) == ("file:///a.lean", 4, 2)
    assert args.offered_for(3) and not args.offered_for(4)


def test_a_keybindings_argument_has_no_version_and_may_have_no_position() -> None:
    args = CommandArgs.read({"uri": "file:///a.lean"})
    assert args.offered_for(7) and (args.line, args.character) == (-1, -1)
    assert CommandArgs.read({}).document == "None"  # looked up as a document: not open


def test_a_version_that_is_not_a_number_never_matches() -> None:
    for bad in ("3", True, 3.0, [3]):
        assert not CommandArgs.read({"uri": "u", "version": bad}).offered_for(3)


def test_a_position_that_is_not_a_number_is_refused_when_read() -> None:
    args = CommandArgs.read({"uri": "u", "position": {"line": "x"}})
    assert args.uri == "u"  # the rest still reads (a cancel needs no position)
    with pytest.raises(ValueError):
        _ = args.line
