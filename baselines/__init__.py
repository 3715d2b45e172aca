"""nanoaquarium baselines."""
