"""nanoaquarium benchmark."""
