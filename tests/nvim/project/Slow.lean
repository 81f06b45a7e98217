import Mathlib

theorem slow_one (n : Nat) (h : n ≠ 0) : 0 < n := by
  sorry -- the stand-in REPL hangs when `aesop` is tried here
