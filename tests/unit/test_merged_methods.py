"""The table of merged LSP methods: one declaration per method, pure functions over JSON, and
the readers that go by it (routing, capabilities, the feature set)."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.protocol import default_converter

from lean_sidecar.lsp.capabilities import merge_capabilities
from lean_sidecar.lsp.feature_set import FeatureSet
from lean_sidecar.lsp.features.base import Feature
from lean_sidecar.lsp.merged_methods import (
    BY_CAPABILITY,
    BY_NAME,
    CODE_ACTION,
    HOVER,
    MERGED_METHODS,
    combine_own,
    merge_answer,
)
from lean_sidecar.lsp.protocol import SHARED_METHODS

POSITION = types.Position(line=0, character=0)
HOVER_PARAMS = types.HoverParams(
    text_document=types.TextDocumentIdentifier(uri="file:///a.lean"), position=POSITION
)
ACTION_PARAMS = types.CodeActionParams(
    text_document=types.TextDocumentIdentifier(uri="file:///a.lean"),
    range=types.Range(start=POSITION, end=POSITION),
    context=types.CodeActionContext(diagnostics=[]),
)


def test_one_declaration_per_method_and_per_capability() -> None:
    assert [m.name for m in MERGED_METHODS] == ["textDocument/codeAction", "textDocument/hover"]
    assert [m.capability for m in MERGED_METHODS] == ["codeActionProvider", "hoverProvider"]
    assert dict(BY_NAME) == {m.name: m for m in MERGED_METHODS}
    assert dict(BY_CAPABILITY) == {m.capability: m for m in MERGED_METHODS}
    # routing reads the table: every merged request is seen by both Lean and the sidecar
    assert {m.name for m in MERGED_METHODS} <= SHARED_METHODS


def test_nothing_of_ours_leaves_leans_answer_as_it_is() -> None:
    lean = {"contents": "x"}
    for method in MERGED_METHODS:
        assert combine_own(method, []) is None
        assert combine_own(method, [None, [], ""]) is None
        assert merge_answer(method, lean, None) is lean
        assert merge_answer(method, None, combine_own(method, [])) is None


def test_code_actions_join_lean_first() -> None:
    ours = combine_own(CODE_ACTION, [[{"title": "a"}], [{"title": "b"}]])
    assert ours == [{"title": "a"}, {"title": "b"}]
    assert merge_answer(CODE_ACTION, [{"title": "L"}], ours) == [{"title": "L"}, *ours]
    assert merge_answer(CODE_ACTION, None, ours) == ours


def test_hover_markdown_goes_above_leans() -> None:
    ours = combine_own(HOVER, ["**a**", None, "**b**"])
    assert ours == "**a**\n\n---\n\n**b**"
    lean = {"contents": {"kind": "markdown", "value": "L"}, "range": {"r": 1}}
    assert merge_answer(HOVER, lean, ours) == {
        "contents": {"kind": "markdown", "value": "**a**\n\n---\n\n**b**\n\n---\n\nL"},
        "range": {"r": 1},
    }
    assert merge_answer(HOVER, None, "x") == {"contents": {"kind": "markdown", "value": "x"}}
    assert merge_answer(HOVER, {"contents": "plain"}, "x")["contents"]["value"] == (
        "x\n\n---\n\nplain"
    )
    # Lean's hover with nothing in it: ours alone, over Lean's range (no dangling separator)
    assert merge_answer(HOVER, {"contents": "", "range": {"r": 2}}, "x") == {
        "contents": {"kind": "markdown", "value": "x"},
        "range": {"r": 2},
    }


def test_what_the_sidecar_advertises() -> None:
    provided = CODE_ACTION.own_capability()
    assert provided == {"codeActionKinds": ["quickfix", "source"], "resolveProvider": False}
    provided["codeActionKinds"].append("mutated")  # a copy: the table stays as declared
    assert CODE_ACTION.own_capability()["codeActionKinds"] == ["quickfix", "source"]
    assert HOVER.own_capability() is None  # Lean's hover provider is enough


def test_code_action_capability_unites_kinds_and_keeps_leans_options() -> None:
    ours = CODE_ACTION.own_capability()
    assert CODE_ACTION.merge_capability({"codeActionKinds": ["x"]}, None) is None  # Lean's stays
    assert CODE_ACTION.merge_capability(None, ours) == ours
    assert CODE_ACTION.merge_capability(True, ours) == ours
    lean = {"codeActionKinds": ["refactor", "quickfix"], "resolveProvider": True, "w": 1}
    assert CODE_ACTION.merge_capability(lean, ours) == {
        "codeActionKinds": ["refactor", "quickfix", "source"],
        "resolveProvider": True,
        "w": 1,
    }


def test_hover_capability_is_true_when_either_hovers() -> None:
    assert HOVER.merge_capability({"workDoneProgress": True}, None) is True
    assert HOVER.merge_capability(None, True) is True
    assert HOVER.merge_capability(None, None) is None  # Lean's (absent) stays
    assert HOVER.merge_capability({}, None) is None


def test_capabilities_are_joined_as_the_table_says() -> None:
    lean = {
        "capabilities": {
            "hoverProvider": {"workDoneProgress": False},
            "codeActionProvider": {"codeActionKinds": ["refactor"], "resolveProvider": True},
            "textDocumentSync": 2,
        },
        "serverInfo": {"name": "Lean 4 Server"},
    }
    ours = {
        "capabilities": {
            "codeActionProvider": CODE_ACTION.own_capability(),
            "textDocumentSync": 1,
            "executeCommandProvider": {"commands": ["c"]},
        }
    }
    caps = merge_capabilities(lean, ours)["capabilities"]
    assert caps["hoverProvider"] is True
    assert caps["codeActionProvider"] == {
        "codeActionKinds": ["refactor", "quickfix", "source"],
        "resolveProvider": True,
    }
    assert caps["textDocumentSync"] == 2  # Lean's, where the table says nothing
    assert caps["executeCommandProvider"] == {"commands": ["c"]}
    assert lean["capabilities"]["hoverProvider"] == {"workDoneProgress": False}  # not mutated
    alone = merge_capabilities({}, {"capabilities": {}})["capabilities"]  # Lean did not start
    assert "hoverProvider" not in alone and "codeActionProvider" not in alone


class Hovering(Feature):
    methods = (HOVER,)

    def __init__(self) -> None:
        self.asked: list[Any] = []

    async def answer_hover(self, params: types.HoverParams) -> str | None:
        self.asked.append(params)
        return "**hover**"


class Acting(Feature):
    methods = (CODE_ACTION,)

    async def answer_code_action(
        self, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        return [types.CodeAction(title="act", kind=types.CodeActionKind.QuickFix)]


async def test_a_feature_is_asked_through_the_methods_hook() -> None:
    feature = Hovering()
    assert await feature.answer(HOVER, HOVER_PARAMS) == "**hover**"
    assert feature.asked == [HOVER_PARAMS]
    assert await feature.answer(CODE_ACTION, ACTION_PARAMS) is None  # the default hook
    assert await feature.answer(HOVER, None) is None  # params that could not be read
    assert feature.asked == [HOVER_PARAMS]


async def test_the_feature_set_asks_only_the_features_that_declare_the_method() -> None:
    features = FeatureSet(default_converter().unstructure)
    hovering, acting = Hovering(), Acting()
    assert not features.answers(HOVER) and not features.answers(CODE_ACTION)
    features.add(hovering)
    assert features.answers(HOVER) and not features.answers(CODE_ACTION)
    features.add(acting)
    assert await features.own_answer(HOVER, HOVER_PARAMS) == "**hover**"
    assert await features.own_answer(CODE_ACTION, ACTION_PARAMS) == [
        {"title": "act", "kind": "quickfix"}  # as JSON
    ]
    assert hovering.asked == [HOVER_PARAMS]  # not asked for code actions
