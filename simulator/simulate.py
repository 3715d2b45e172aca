"""One simulated video, frame by frame: scene → dynamics → image formation → detector.

``Simulation(config, seed=..., video_id=...)`` builds the scene (particles placed without
overlap, the liquid layer, the detector's fixed pattern); ``frames()`` then yields one
:class:`FrameOutput` per frame, so a long video streams to disk with the memory of a few frames.

Image formation of one frame (units: nm, s, e⁻/Å²):

1. expected electrons per pixel without specimen ``N0 = dose_rate · exposure · (10·pixel_nm)²``
   (1 nm² = 100 Å²);
2. bright-field: ``N = N0 · exp(−τ)`` with ``τ = 2·w/λ_SiN + (L − Σt)/λ_water + Σ t_i/λ_i``
   (Beer–Lambert; ``L`` liquid thickness, ``Σt`` the particles' thickness that displaces liquid);
   HAADF: ``N = N0 · η · (Σ t_i·w_i + (L − Σt)·w_water + 2·w·w_SiN)`` with Z-contrast weights
   ``w`` relative to Au and ``η`` the fraction scattered onto the detector per nm of Au;
3. optics blur: a Gaussian of σ = ``blur_base_nm + blur_per_nm · L`` (chromatic blur grows with
   the liquid crossed; see :class:`simulator.config.ImagingConfig`);
4. the detector (:mod:`simulator.detector`).

Motion (``dynamics.model = "brownian"``, :mod:`simulator.brownian`): particles move between and
during exposures in ``dynamics.substeps`` steps per frame interval.  Motion blur: the frame is the
mean of the expected images of ``dynamics.blur_steps`` states evenly spaced over the exposure
(at (k + ½)/B of it); the ground truth (labels and table) is the middle one, at mid-exposure.  A random sample drift (RMS ``drift_nm_per_frame`` per frame, a random walk) moves the
whole scene; the ground truth includes it, since it is where the particles appear.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ._raster import pack_particles, rasterize
from .config import SimulationConfig
from .brownian import brownian_steps
from .detector import load_mtf_matrix, parametric_mtf, record, resample_mtf
from .errors import ConfigError
from .hydrodynamics import shape_diffusion
from .liquid import liquid_thickness_map
from .materials import get_material
from .shapes import ShapeSpec, make_shape, profile_volume
from .video import Table, Video, VideoMeta

__all__ = ["FrameOutput", "Simulation", "simulate_video"]

_MAX_PLACEMENT_TRIES = 200
_COMPACT = ("cube", "concave-cube", "bipyramid")  # diffuse as spheres of equal volume


@dataclass
class FrameOutput:
    """One rendered frame: counts, labels and the ground-truth rows of this frame."""

    image: np.ndarray
    labels: np.ndarray
    particles: Table
    events: Table


def place_particles(
    outlines: list, angles: np.ndarray, field_nm: tuple[float, float], *, gap_nm: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Random non-overlapping centres (N, 2) as (x, y) nm, by sequential random insertion.

    Outlines (body frame, rotated by ``angles``) are kept ``gap_nm`` apart: bounding circles
    first, the exact shapely distance where those overlap.  Each particle gets
    ``_MAX_PLACEMENT_TRIES`` random tries, so an impossible density is a ConfigError, not a hang.
    """
    import shapely
    from shapely import affinity

    H, W = field_nm
    n = len(outlines)
    rotated = [affinity.rotate(o, a, origin=(0, 0), use_radians=True) for o, a in zip(outlines, angles)]
    radii = np.array([np.sqrt((np.asarray(o.exterior.coords) ** 2).sum(1)).max() for o in outlines])
    pos = np.zeros((n, 2))
    placed: list = []
    for i in range(n):
        minx, miny, maxx, maxy = rotated[i].bounds
        if maxx - minx > W or maxy - miny > H:
            raise ConfigError(
                f"particles.size_nm: a particle of {max(maxx - minx, maxy - miny):.0f} nm does not fit the "
                f"{W:.0f}×{H:.0f} nm field; use smaller particles or a larger video.width_px/height_px"
            )
        for _ in range(_MAX_PLACEMENT_TRIES):
            p = rng.uniform((-minx, -miny), (W - maxx, H - maxy))
            close = np.flatnonzero(np.hypot(*(pos[:i] - p).T) < radii[:i] + radii[i] + gap_nm)
            if close.size:
                moved = affinity.translate(rotated[i], *p)
                if min(shapely.distance(moved, placed[j]) for j in close) < gap_nm:
                    continue
            pos[i] = p
            placed.append(affinity.translate(rotated[i], *p))
            break
        else:
            raise ConfigError(
                f"particles.count = {n}: only {i} particles of ~{2 * np.median(radii):.0f} nm fit "
                f"without overlap in the {W:.0f}×{H:.0f} nm field; lower particles.count or particles.size_nm"
            )
    return pos


class Simulation:
    """A simulated video; iterate :meth:`frames` once to render it.

    Parameters
    ----------
    config : validated configuration
    seed : this video's seed (every random stream is spawned from it)
    video_id : name of the video in its dataset
    """

    def __init__(self, config: SimulationConfig, *, seed: int, video_id: str = "video_000") -> None:
        self.config = config
        v, im, pc, det = config.video, config.imaging, config.particles, config.detector
        ss = np.random.SeedSequence(int(seed))
        scene_ss, liquid_ss, detector_ss, noise_ss = ss.spawn(4)
        self._scene_rng = np.random.default_rng(scene_ss)
        self._noise_rng = np.random.default_rng(noise_ss)
        shape = (v.height_px, v.width_px)
        p = im.pixel_size_nm
        self.meta = VideoMeta(
            video_id=video_id, shape=(v.frames, *shape), pixel_size_nm=p,
            frame_interval_s=im.frame_interval_s, mode=im.mode, exposure_s=im.exposure_s,
            dose_rate_e_per_A2_s=im.dose_rate_e_per_A2_s, preset=config.preset, seed=int(seed),
        )

        # Particles: shape by the configured fractions, size with a normal dispersity.
        rng = self._scene_rng
        names = list(pc.shapes)
        frac = np.array([pc.shapes[n] for n in names], float)
        picks = rng.choice(len(names), size=pc.count, p=frac / frac.sum())
        sizes = pc.size_nm * np.clip(1 + pc.size_cv * rng.standard_normal(pc.count), 0.3, 3.0)
        self.specs: list[ShapeSpec] = [
            make_shape(names[k], s, aspect_ratio=pc.aspect_ratio, thickness_ratio=pc.thickness_ratio,
                       truncation=pc.truncation)
            for k, s in zip(picks, sizes)
        ]
        self.angles = rng.uniform(0, 2 * np.pi, pc.count)
        self.positions_nm = place_particles([s.outline for s in self.specs], self.angles,
                                            (shape[0] * p, shape[1] * p), gap_nm=pc.min_gap_nm, rng=rng)
        self.ids = np.arange(1, pc.count + 1, dtype=np.uint32)
        self._init_motion(shape, p)
        mat = get_material(pc.material)
        self.material = mat
        self._packed_static = (
            [s.vertices for s in self.specs], [s.height_nm for s in self.specs],
            [s.rounding_nm for s in self.specs], [s.profile for s in self.specs],
        )

        # Liquid layer and windows.
        lq = config.liquid
        self.liquid_nm = liquid_thickness_map(
            shape, pixel_size_nm=p, thickness_nm=lq.thickness_nm, bulge_nm=lq.bulge_nm,
            window_halfwidth_um=lq.window_halfwidth_um, window_offset_um=lq.window_offset_um,
            variation_nm=lq.variation_nm, variation_length_nm=lq.variation_length_nm,
            rng=np.random.default_rng(liquid_ss),
        )
        self._blur_px = (im.blur_base_nm + im.blur_per_nm * lq.thickness_nm) / p

        # Detector: MTF and fixed pattern (gain map, hot and dead pixels).
        drng = np.random.default_rng(detector_ss)
        self._mtf = None
        if det.model != "ideal":
            self._mtf = (resample_mtf(load_mtf_matrix(det.mtf_file), shape) if det.mtf_file
                         else parametric_mtf(shape, q0=det.mtf_q0, floor=det.mtf_floor))
        self._gain_map = 1 + det.gain_nonuniformity * drng.standard_normal(shape)
        u = drng.random(shape)
        self._defects = np.where(u < det.hot_pixel_fraction, 1,
                                 np.where(u > 1 - det.dead_pixel_fraction, -1, 0)).astype(np.int8)
        self.tracks: Table = []
        self.potential: Table | None = None

    def _init_motion(self, shape: tuple[int, int], p: float) -> None:
        """Per-particle body-frame diffusion coefficients (nm²/s, rad²/s) and walls."""
        dyn = self.config.dynamics
        n = len(self.specs)
        self.d_par, self.d_perp, self.d_rot = np.zeros(n), np.zeros(n), np.zeros(n)
        if dyn.model == "brownian":
            for i, spec in enumerate(self.specs):
                minx, _, maxx, _ = spec.outline.bounds
                dpar, dperp, drot = shape_diffusion(
                    spec.name, size_nm=spec.height_nm if spec.name in ("sphere", "rod") else maxx - minx,
                    length_nm=maxx - minx, area_nm2=spec.outline.area,
                    volume_nm3=profile_volume(spec) if spec.name in _COMPACT else 0.0,
                    temperature_K=dyn.temperature_K, viscosity_Pa_s=dyn.viscosity_Pa_s)
                self.d_par[i], self.d_perp[i], self.d_rot[i] = (dyn.slowdown * x for x in (dpar, dperp, drot))
        self._walls_lo = np.zeros((n, 2))
        self._walls_hi = np.tile([shape[1] * p, shape[0] * p], (n, 1)).astype(float)

    def _advance(self, duration_s: float) -> None:
        """Move the particles for ``duration_s`` seconds (no-op for static scenes)."""
        dyn = self.config.dynamics
        if dyn.model == "static" or duration_s <= 0 or not len(self.specs):
            return
        dt_target = self.config.imaging.frame_interval_s / dyn.substeps
        steps = max(1, int(np.ceil(duration_s / dt_target - 1e-9)))
        brownian_steps(self.positions_nm, self.angles, self.d_par, self.d_perp, self.d_rot,
                       dt=duration_s / steps, steps=steps, lo=self._walls_lo, hi=self._walls_hi,
                       rng=self._scene_rng)

    def _exposure(self, drift: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Expected image averaged over the exposure, and labels/positions/angles at mid-exposure."""
        im, dyn = self.config.imaging, self.config.dynamics
        if dyn.model == "static":
            expected, labels = self.expected_electrons(self.positions_nm + drift, self.angles)
            return expected, labels, self.positions_nm + drift, self.angles.copy()
        B = dyn.blur_steps
        times = im.exposure_s * (np.arange(B) + 0.5) / B
        total = None
        now = 0.0
        for k, t in enumerate(times):
            self._advance(t - now)
            now = t
            e, lab = self.expected_electrons(self.positions_nm + drift, self.angles)
            total = e if total is None else total + e
            if k == B // 2:
                labels, pos, ang = lab, self.positions_nm + drift, self.angles.copy()
        self._advance(im.frame_interval_s - now)
        return total / B, labels, pos, ang

    # ------------------------------------------------------------------ rendering

    def expected_electrons(self, positions_nm: np.ndarray, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected electrons per pixel (before the detector) and labels for one particle state."""
        im, lq = self.config.imaging, self.config.liquid
        p = im.pixel_size_nm
        shape = self.meta.shape[1:]
        verts, heights, rounding, profiles = self._packed_static
        n = len(verts)
        packed = pack_particles(
            verts, positions_nm[:, 0] / p if n else [], positions_nm[:, 1] / p if n else [], angles,
            heights, rounding, profiles, np.full(n, 1 / self.material.mean_free_path_nm),
            np.full(n, self.material.haadf_weight), self.ids,
        )
        tau_p, thick, haadf, labels = rasterize(packed, [s.radius_nm for s in self.specs], shape, pixel_size_nm=p)
        water, sin = get_material("water"), get_material("SiN")
        liquid = np.maximum(self.liquid_nm - thick, 0.0)
        n0 = im.dose_rate_e_per_A2_s * im.exposure_s * (10.0 * p) ** 2
        if im.mode == "bright-field":
            tau = 2 * lq.window_thickness_nm / sin.mean_free_path_nm + liquid / water.mean_free_path_nm + tau_p
            expected = n0 * np.exp(-tau)
        else:
            signal = haadf + liquid * water.haadf_weight + 2 * lq.window_thickness_nm * sin.haadf_weight
            expected = n0 * im.haadf_efficiency_per_nm * signal
        if self._blur_px > 0.05:
            expected = ndimage.gaussian_filter(expected, self._blur_px, mode="reflect")
        return expected, labels

    def frames(self) -> Iterator[FrameOutput]:
        """Render the frames in order (a generator; iterate once)."""
        cfg = self.config
        det, im = cfg.detector, cfg.imaging
        T = self.meta.shape[0]
        drift = np.zeros(2)
        n = len(self.specs)
        for t in range(T):
            if t > 0 and im.drift_nm_per_frame > 0:
                drift = drift + im.drift_nm_per_frame / np.sqrt(2) * self._scene_rng.standard_normal(2)
            expected, labels, pos, angles = self._exposure(drift)
            image = record(
                expected, model=det.model, mtf=self._mtf, rng=self._noise_rng,
                conversion_gain=det.conversion_gain, gain_spread=det.gain_spread, read_noise=det.read_noise,
                dark_offset=det.dark_offset, gain_map=self._gain_map, defects=self._defects,
                saturation_counts_per_frame=det.saturation_counts_per_frame,
            )
            rows = [
                {"frame": t, "id": int(self.ids[i]), "x_nm": float(pos[i, 0]), "y_nm": float(pos[i, 1]),
                 "angle_rad": float(angles[i] % (2 * np.pi)), "area_nm2": float(self.specs[i].outline.area),
                 "perimeter_nm": float(self.specs[i].outline.length), "shape": self.specs[i].name,
                 "material": self.material.name, "thickness_nm": float(self.specs[i].height_nm),
                 "D_nm2_s": float((self.d_par[i] + self.d_perp[i]) / 2), "Dr_rad2_s": float(self.d_rot[i])}
                for i in range(n)
            ]
            yield FrameOutput(image=image, labels=labels, particles=rows, events=[])
        self.tracks = [{"id": int(i), "first_frame": 0, "last_frame": T - 1, "parents": ""} for i in self.ids]


def simulate_video(config: SimulationConfig, *, seed: int, video_id: str = "video_000") -> Video:
    """Render a whole video in memory (for small videos and tests; datasets stream instead)."""
    sim = Simulation(config, seed=seed, video_id=video_id)
    frames, labels, particles, events = [], [], [], []
    for out in sim.frames():
        frames.append(out.image)
        labels.append(out.labels)
        particles.extend(out.particles)
        events.extend(out.events)
    return Video(meta=sim.meta, frames=np.stack(frames), labels=np.stack(labels), particles=particles,
                 tracks=sim.tracks, events=events, config=config.model_dump(mode="json"),
                 potential=sim.potential)
