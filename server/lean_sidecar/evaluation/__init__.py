"""``lean-sidecar eval``: the whole pipeline over a benchmark of Lean theorems."""
