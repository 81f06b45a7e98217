"""The one table of Lean 4 and Mathlib command keywords.

Two readers need the same list and must never disagree: the declaration finder (a declaration
ends where the next command of *any* kind starts) and the candidate gate (a proof may contain no
command at all). A keyword missing here would let a model's answer smuggle a command past the
gate, or swallow a command into the declaration above it; so the list errs on the long side and
lives in one place. Sources: Lean 4's `Lean.Parser.Command` and `Lean.Elab` command parsers,
Mathlib's `Mathlib/Tactic/*` command syntaxes (`register_option`, `library_note`, `alias`, …).
"""

from __future__ import annotations

# Keywords that begin a declaration with a name and a body.
DECLARATION_KEYWORDS: frozenset[str] = frozenset(
    {
        "theorem",
        "lemma",
        "def",
        "example",
        "instance",
        "abbrev",
        "opaque",
        "axiom",
        "structure",
        "class",
        "inductive",
        "coinductive",
        "proof_wanted",
        "irreducible_def",
    }
)

# Words that may stand before a declaration keyword (visibility, computability, meta-level).
DECLARATION_MODIFIERS: frozenset[str] = frozenset(
    {
        "private",
        "protected",
        "public",
        "noncomputable",
        "partial",
        "unsafe",
        "nonrec",
        "meta",
        "local",
        "scoped",
    }
)

# Every other command a Lean 4 or Mathlib file can contain.
OTHER_COMMAND_KEYWORDS: frozenset[str] = frozenset(
    {
        # structure of a file
        "import",
        "module",
        "prelude",
        "namespace",
        "section",
        "end",
        "mutual",
        "open",
        "export",
        "variable",
        "universe",
        "omit",
        "include",
        "set_option",
        "attribute",
        "deriving",
        "unseal",
        "seal",
        "suppress_compilation",
        "unsuppress_compilation",
        # metaprogramming: new syntax, elaborators, code run at elaboration time
        "macro",
        "macro_rules",
        "syntax",
        "declare_syntax_cat",
        "notation",
        "notation3",
        "infix",
        "infixl",
        "infixr",
        "prefix",
        "postfix",
        "elab",
        "elab_rules",
        "binop%",
        "initialize",
        "builtin_initialize",
        "run_cmd",
        "run_elab",
        "run_meta",
        "simproc",
        "dsimproc",
        "simproc_decl",
        "dsimproc_decl",
        "builtin_simproc",
        "builtin_dsimproc",
        "register_simp_attr",
        "register_option",
        "register_builtin_option",
        "register_label_attr",
        "register_tactic_tag",
        "declare_config_elab",
        "declare_simp_like_tactic",
        "initialize_simps_projections",
        "add_decl_doc",
        "grind_pattern",
        "library_note",
        "alias",
        "assert_not_exists",
        "assert_not_imported",
        "compile_inductive",
        "compile_def",
        "gen_injective_theorems%",
        "recall",
        "show_panel_widgets",
        "extend_docs",
        "mk_iff_of_inductive_prop",
        # further Lean 4 command parsers (Lean.Parser.Command, Lean.Elab.*)
        "with_weak_namespace",
        "end_local_scope",
        "init_quot",
        "docs_to_verso",
        "tactic_extension",
        "recommended_spelling",
        "register_error_explanation",
        "register_parser_alias",
        "builtin_simproc_decl",
        "builtin_dsimproc_decl",
        "builtin_simproc_pattern%",
        "simproc_pattern%",
        "binder_predicate",
        "unif_hint",
        "test_extern",
        # further Mathlib and Batteries command syntaxes
        "whatsnew",
        "count_heartbeats",
        "declare_aesop_rule_sets",
        "add_aesop_rules",
        "erase_aesop_rules",
        "register_hint",
        "initialize_simps_projections?",
        "open_locale",
        "variable?",
        "assert_no_sorry",
    }
)

COMMAND_KEYWORDS: frozenset[str] = DECLARATION_KEYWORDS | OTHER_COMMAND_KEYWORDS


def is_command_keyword(word: str) -> bool:
    """Whether ``word`` starts a command (every ``#…`` word does: `#eval`, `#guard`, `#exit`, …)."""
    return word.startswith("#") or word in COMMAND_KEYWORDS
