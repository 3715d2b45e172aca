"""nanoaquarium unet."""
