"""The README's scenario figure: the last frame of a 12-frame video of every preset at its defaults
(seed 3), raw above and with the ground-truth outlines below.

    python docs/make_readme_images.py            # writes docs/images/scenarios.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from simulator.config import list_presets, load_config  # noqa: E402
from simulator.preview import label_outlines  # noqa: E402
from simulator.simulate import simulate_video  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def scenarios_figure(out: Path, *, frames: int = 12, seed: int = 3) -> None:
    """Write the figure of every preset to ``out`` (PNG)."""
    names = list(list_presets())
    fig, axes = plt.subplots(2, len(names), figsize=(3.1 * len(names), 6.4))
    for i, name in enumerate(names):
        cfg = load_config(name, overrides=[f"video.frames={frames}"])
        video = simulate_video(cfg, seed=seed)
        frame = video.frames[-1].astype(float)
        lo, hi = np.percentile(frame, [0.5, 99.5])
        for row in (0, 1):
            axes[row, i].imshow(frame, cmap="gray", vmin=lo, vmax=hi)
            axes[row, i].axis("off")
        outline = np.zeros(frame.shape + (4,))
        outline[label_outlines(video.labels[-1])] = (1, 0.2, 0.1, 1)
        axes[1, i].imshow(outline)
        axes[0, i].set_title(f"{name}\n{cfg.particles.material}, {cfg.imaging.dose_rate_e_per_A2_s:g} e$^-$/Å$^2$/s, "
                             f"{cfg.imaging.pixel_size_nm:g} nm/px", fontsize=8)
    axes[1, 0].set_ylabel("ground truth")
    fig.tight_layout()
    fig.savefig(out, dpi=64)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "scenarios.png")
    args = ap.parse_args(argv)
    scenarios_figure(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
