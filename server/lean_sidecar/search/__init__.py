"""Proof search for one hole: cache, symbolic cascade, then model samples, all verified by Lean."""
