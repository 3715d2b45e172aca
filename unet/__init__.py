"""nanoaquarium U-Net: a small U-Net trained on simulated LPEM frames.

Modules: :mod:`unet.model` (network), :mod:`unet.normalize` (intensities), :mod:`unet.postprocess`
(seeded watershed), :mod:`unet.io` (safetensors + JSON), :mod:`unet.infer` (tiled inference),
:mod:`unet.method` (``segment(video, meta)``), :mod:`unet.data` and :mod:`unet.train`
(simulated or on-disk training data, batches a function of seed and step, and the loop),
:mod:`unet.calibrate` (post-processing thresholds chosen on training data), :mod:`unet.cli`
(``nanoaq train``).
The shipped default model is ``unet/weights/default.safetensors`` + ``default.json``.
"""
