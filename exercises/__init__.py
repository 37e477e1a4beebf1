"""Balance metrics and the scoring of each exercise (CoP samples in, results out)."""
