import matplotlib; matplotlib.use("Agg")
import matplotlib.pyplot as plt, numpy as np
from simulator.config import load_config, list_presets
from simulator.simulate import simulate_video
from simulator.preview import label_outlines
names = list(list_presets())
fig, axes = plt.subplots(2, len(names), figsize=(3.1*len(names), 6.4))
for i, n in enumerate(names):
    cfg = load_config(n, overrides=["video.frames=12"])
    v = simulate_video(cfg, seed=3)
    f = v.frames[-1].astype(float); lo, hi = np.percentile(f, [0.5, 99.5])
    for r in (0, 1):
        axes[r, i].imshow(f, cmap="gray", vmin=lo, vmax=hi); axes[r, i].axis("off")
    rgba = np.zeros(f.shape + (4,)); rgba[label_outlines(v.labels[-1])] = (1, .2, .1, 1)
    axes[1, i].imshow(rgba)
    axes[0, i].set_title(f"{n}\n{cfg.particles.material}, {cfg.imaging.dose_rate_e_per_A2_s:g} e$^-$/Å$^2$/s, {cfg.imaging.pixel_size_nm:g} nm/px", fontsize=8)
axes[1, 0].set_ylabel("ground truth")
fig.tight_layout(); fig.savefig("docs/images/scenarios.png", dpi=64)
