"""A picture of a dataset: frames next to their ground-truth instance outlines."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import open_dataset
from .errors import UserError
from .outfile import check_out_file, write_atomic

__all__ = ["preview_dataset", "label_outlines"]


def label_outlines(labels: np.ndarray) -> np.ndarray:
    """Boolean (Y, X) mask of the pixels on the boundary of any instance in ``labels``."""
    from scipy import ndimage

    edge = np.zeros(labels.shape, bool)
    for axis in (0, 1):
        for shift in (1, -1):
            edge |= labels != ndimage.shift(labels, shift * np.eye(2, dtype=int)[axis], order=0, mode="nearest")
    return edge & (labels > 0)


def preview_dataset(dataset: str | Path, out: str | Path, *, frames: int = 3, video_id: str | None = None) -> Path:
    """Save a PNG with ``frames`` frames of one video: raw on top, ground-truth outlines below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backend_bases import FigureCanvasBase

    if frames < 1:
        raise UserError(f"--frames {frames}: expected at least 1 frame to show")
    out = check_out_file(out, expected="an image file", example="preview.png")
    kind = out.suffix.lstrip(".").lower()
    if kind not in FigureCanvasBase.get_supported_filetypes():
        raise UserError(f"--out {out}: unknown image type {out.suffix!r}; expected .png, .pdf, .svg or .jpg")
    ds = open_dataset(dataset)
    vid = video_id or ds.video_ids[0]
    video = ds.read_video(vid)
    T = video.frames.shape[0]
    picks = np.unique(np.linspace(0, T - 1, min(frames, T)).round().astype(int))
    fig, axes = plt.subplots(2, len(picks), figsize=(3.2 * len(picks), 6.6), squeeze=False)
    p = video.meta.pixel_size_nm
    for col, t in enumerate(picks):
        img = video.frames[t].astype(float)
        lo, hi = np.percentile(img, [0.5, 99.5])
        for row in (0, 1):
            ax = axes[row, col]
            ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        rgba = np.zeros(img.shape + (4,))
        rgba[label_outlines(video.labels[t])] = (1.0, 0.2, 0.1, 1.0)
        axes[1, col].imshow(rgba, interpolation="nearest")
        n = len(np.unique(video.labels[t])) - 1
        axes[0, col].set_title(f"frame {t} ({t * video.meta.frame_interval_s:.2f} s)", fontsize=9)
        axes[1, col].set_title(f"ground truth: {n} particles", fontsize=9)
        bar_nm = 10 ** np.floor(np.log10(img.shape[1] * p / 4))
        x0 = img.shape[1] * 0.05
        axes[0, col].plot([x0, x0 + bar_nm / p], [img.shape[0] * 0.93] * 2, color="w", lw=3)
        axes[0, col].text(x0, img.shape[0] * 0.89, f"{bar_nm:g} nm", color="w", fontsize=8)
    fig.suptitle(f"{ds.path.name}/{vid}: preset {video.meta.preset}, {video.meta.mode}, "
                 f"{video.meta.dose_rate_e_per_A2_s:g} e$^-$/Å$^2$/s", fontsize=10)
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=110, format=kind))  # never a half picture
    plt.close(fig)
    return out
