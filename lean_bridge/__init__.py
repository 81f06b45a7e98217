"""Everything that talks to Lean: its language server, its REPL, and the text it reads."""
