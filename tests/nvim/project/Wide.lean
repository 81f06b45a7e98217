import Mathlib

theorem wide_field (𝔽 : Type) (x : ℝ) (h : 0 ≤ x) : 0 ≤ x := by sorry

theorem stuck (p : Prop) [Decidable p] : p ∨ ¬p := by
  sorry
