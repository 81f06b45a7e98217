"""What each tool takes and gives back, as typed models: the JSON schemas agents see are
generated from these, and every call's arguments are validated against them before any work.

Arguments are hostile input: an unknown field is refused (``extra="forbid"``, so a misspelt
option is an error, not silently ignored), strings and numbers are bounded. Positions are LSP
positions (0-based line, UTF-16 character), as the ``holes`` tool's ranges are."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_PATH = 4096
MAX_TEXT = 400_000  # characters of a proof or a snippet (maxProofChars is checked at run time)
MAX_LINE = 10_000_000


class Args(BaseModel):
    """A tool's arguments: unknown fields are refused, values are not coerced from strings."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Position(Args):
    line: int = Field(ge=0, le=MAX_LINE, description="0-based line.")
    character: int = Field(
        ge=0, le=MAX_LINE, description="0-based column in UTF-16 code units (as in LSP)."
    )


class FileArgs(Args):
    path: str = Field(
        min_length=1,
        max_length=MAX_PATH,
        description="A .lean file of the project: relative to the project root, or absolute "
        "inside it.",
    )


class NoArgs(Args):
    pass


class AtArgs(FileArgs):
    position: Position = Field(description="Where the hole is (anywhere on its `sorry`).")


class TacticArgs(FileArgs):
    position: Position = Field(description="A position on the failing tactic.")


class Budget(Args):
    samples: int | None = Field(
        None, ge=0, le=1024, description="Model samples for each hole (default: budgetSamples)."
    )
    seconds: float | None = Field(
        None, gt=0, le=3600, description="Wall time for each hole (default: budgetSeconds)."
    )


class SearchArgs(AtArgs):
    budget: Budget | None = Field(None, description="This search's budget.")
    max_proofs: int = Field(3, ge=1, le=16, description="Stop after this many verified proofs.")


class FillArgs(FileArgs):
    position: Position | None = Field(
        None, description="One hole to fill (on its `sorry`); omitted: every hole of the file."
    )
    write: bool = Field(
        False,
        description="Write the verified text into the file (only what Lean verified is "
        "written); false: only return the diff.",
    )
    budget: Budget | None = Field(None, description="The budget of each hole's search.")


class VerifyArgs(FileArgs):
    """Exactly one of: declaration; hole with proof; snippet."""

    declaration: str | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="Verify this declaration of the file, as it is on disk (by name).",
    )
    hole: Position | None = Field(
        None, description="With `proof`: verify `proof` in place of the sorry at this position."
    )
    proof: str | None = Field(
        None, min_length=1, max_length=MAX_TEXT, description="A proof of the hole (with `hole`)."
    )
    snippet: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXT,
        description="One declaration (`theorem name … := proof`), checked after the whole file, "
        "in its environment.",
    )

    @model_validator(mode="after")
    def _one_target(self) -> VerifyArgs:
        modes = [
            self.declaration is not None,
            self.hole is not None or self.proof is not None,
            self.snippet is not None,
        ]
        if sum(modes) != 1:
            raise ValueError("give exactly one of: declaration; hole with proof; snippet")
        if (self.hole is None) != (self.proof is None):
            raise ValueError("`hole` and `proof` go together")
        return self


# ---- results ---------------------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Range(Out):
    start: Position
    end: Position


class HoleOut(Out):
    kind: Literal["sorry", "failingTactic"]
    declaration: str | None
    goal: str | None = Field(description="Lean's goal there (None: Lean reported none).")
    range: Range
    line: int = Field(description="1-based line of the hole's start, for people.")
    message: str | None = Field(None, description="Lean's error, for a failing tactic.")


class HolesOut(Out):
    path: str
    source: Literal["editor", "repl"] = Field(
        description="editor: the editor's Lean had this very text open (sorries and failing "
        "tactics); repl: the Lean REPL elaborated the file (sorries only)."
    )
    version: int | None = Field(None, description="The editor's document version (editor only).")
    holes: list[HoleOut]


class GoalOut(Out):
    path: str
    source: Literal["editor", "repl"]
    hole: HoleOut


class LeanMessageOut(Out):
    severity: str
    line: int | None = Field(description="1-based line in `checked`.")
    column: int | None = Field(description="0-based column in `checked` (code points).")
    message: str


class VerifyOut(Out):
    verified: bool
    stage: Literal["gate", "repl", "parse", "lean", "audit"] | None = Field(
        description="Where the trust chain refused: gate (the text is not only a proof or one "
        "declaration; Lean never saw it), repl (Lean gave no answer), parse (Lean's parse "
        "differs from the text), lean (errors or a sorry), audit (axioms)."
    )
    reason: str | None
    declaration: str | None
    errors: list[LeanMessageOut]
    checked: str | None = Field(description="The declaration as Lean checked it.")


class ProofOut(Out):
    script: str
    how: str
    seconds: float
    samples: int
    helpers: str = Field("", description="Helper lemmas to insert above the declaration.")


class RefutedOut(Out):
    statement: str
    proof: str


class PartialOut(Out):
    script: str
    sorries_left: int


class SearchOut(Out):
    status: str
    proofs: list[ProofOut]
    refuted: RefutedOut | None
    partial: PartialOut | None
    error: str | None
    samples: int
    seconds: float
    trace: str = Field(description="URI of this search's trace (a resource).")
    notices: list[str]


class FillHoleOut(Out):
    line: int
    declaration: str
    status: str
    how: str | None
    proof: str | None
    error: str | None
    trace: str | None


class FillOut(Out):
    path: str
    diff: str = Field(description="Unified diff of the verified text (empty: nothing filled).")
    written: bool
    solved: int
    total: int
    holes: list[FillHoleOut]
    notices: list[str]


class SuggestionOut(Out):
    tactic: str
    closes: bool = Field(description="It closes the goal (confirmed on the whole declaration).")
    remaining: list[str] = Field(description="Goals left, for one that makes progress.")


class TacticOut(Out):
    path: str
    goal: str | None
    status: str
    suggestions: list[SuggestionOut]
    error: str | None


class RefuteOut(Out):
    path: str
    goal: str | None
    goal_is_false: bool
    statement: str | None = Field(description="The negation Lean proved.")
    proof: str | None
    note: str | None


class CheckOut(Out):
    name: str
    status: str
    message: str
    essential: bool


class DoctorOut(Out):
    checks: list[CheckOut]
    can_search: bool


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every ``$ref`` replaced by its definition: some agent
    clients do not resolve references in a tool's schema."""
    schema = model.model_json_schema()
    defs: dict[str, Any] = schema.pop("$defs", {})

    def expand(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return expand({**defs[ref.removeprefix("#/$defs/")], **rest})
            return {k: expand(v) for k, v in node.items()}
        if isinstance(node, list):
            return [expand(v) for v in node]
        return node

    out: dict[str, Any] = expand(schema)
    return out
