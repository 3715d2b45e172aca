"""One simulated video, frame by frame: scene → dynamics → image formation → detector.

``Simulation(config, seed=..., video_id=...)`` builds the scene (particles placed without
overlap, the liquid layer, the detector's fixed pattern); ``frames()`` then yields one
:class:`FrameOutput` per frame, so a long video streams to disk with the memory of a few frames.

Image formation of one frame (units: nm, s, e⁻/Å²):

1. expected electrons per pixel without specimen ``N0 = dose_rate · exposure · (10·pixel_nm)²``
   (1 nm² = 100 Å²);
2. bright-field: ``N = N0 · exp(−τ)`` with ``τ = 2·w/λ_SiN + (L − Σt)/λ_water + Σ t_i/λ_i``
   (Beer–Lambert; ``L`` liquid thickness, ``Σt`` the particles' thickness that displaces liquid);
   HAADF: ``N = N0 · (1 − exp(−η·S))``, ``S = Σ t_i·w_i + (L − Σt)·w_water + 2·w·w_SiN``, with
   Z-contrast weights ``w`` relative to Au and ``η`` the fraction scattered onto the detector per
   nm of Au (:mod:`simulator.optics`);
3. optics blur (:mod:`simulator.optics`): a Gaussian of σ = ``blur_base_nm + blur_per_nm · L`` (chromatic blur grows with
   the liquid crossed; see :class:`simulator.config.ImagingConfig`);
4. the detector (:mod:`simulator.detector`).

Motion (``dynamics.model`` = ``brownian``, ``fbm`` or ``ctrw``; :mod:`simulator.brownian`,
:mod:`simulator.dynamics`): particles move between and during exposures in ``dynamics.substeps``
steps per frame interval (more with interactions, see ``Simulation._limit_step``).  Motion blur: the frame is the
mean of the expected images of ``dynamics.blur_steps`` states evenly spaced over the exposure
(at (k + ½)/B of it); the ground truth (labels and table) is the middle one, at mid-exposure.  A random sample drift (RMS ``drift_nm_per_frame`` per frame, a random walk) moves the
whole scene; the ground truth includes it, since it is where the particles appear.

Boundary (``dynamics.boundary``, :func:`simulation_box`): with ``open`` the particles live in a box
wider than the field of view and leave and enter the field; labels and ``particles.csv`` hold only
the particles visible in the mid-exposure labels, and tracks follow what is visible
(:class:`simulator.dynamics.reactions.Lineage`: a particle that leaves ends its track, one that
enters starts a new one).  Every frame's rows carry ``chain_id`` (:mod:`simulator.dynamics.chains`).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import optics
from ._labels import relabel, visible_ids
from ._raster import RasterBuffers, pack_outlines, pack_particles, rasterize
from .config import SimulationConfig
from .dynamics.chains import chain_ids
from .dynamics.integrate import Sites, overdamped_steps
from .dynamics.interactions import InteractionParams, interaction_sites, pair_potential_table
from .dynamics.motion import NoiseStream
from .dynamics.reactions import (Lineage, dose_rate_scaling, etched_thickness, evolve_outline, merge_outlines,
                                 nucleation_count)
from .detector import half_plane, load_mtf_matrix, parametric_mtf, record, resample_mtf
from .errors import ConfigError
from .hydrodynamics import shape_diffusion
from .liquid import liquid_thickness_map
from .materials import get_material
from .shapes import ShapeSpec, make_shape, profile_volume
from .video import Table, Video, VideoMeta

log = logging.getLogger(__name__)

#: A counting detector's paralysable response m = n·exp(−n/n_sat) falls with flux beyond ``n_sat``
#: and the contrast inverts (Knoll 2010, §4.VII).  The simulation warns from 0.3·n_sat on, where
#: 1 − e^−0.3 = 26 % of the counts are lost and the contrast (the slope dm/dn = (1 − n/n_sat)·e^(−n/n_sat))
#: is down to 0.52 of a linear detector's: the project's threshold for "beyond its linear range".
COUNTING_LINEAR_FRACTION = 0.3

__all__ = ["FrameOutput", "Simulation", "simulate_video", "simulation_box"]

_MAX_PLACEMENT_TRIES = 200
#: Integration steps per frame beyond which a configuration is refused: the shipped presets take
#: 10-185; at ``dynamics.slowdown = 1`` (bulk water) an interacting scene would take ~3e7 a frame and
#: its noise, drawn ahead for the whole video, tens of GB.
_MAX_STEPS_PER_FRAME = 100_000
_COMPACT = ("cube", "concave-cube", "bipyramid")  # diffuse as spheres of equal volume


@dataclass
class FrameOutput:
    """One rendered frame: counts, labels and the ground-truth rows of this frame."""

    image: np.ndarray
    labels: np.ndarray
    particles: Table
    events: Table


def simulation_box(config: SimulationConfig) -> tuple[float, int]:
    """Margin (nm) around the field of view and number of particles of the simulation box.

    ``dynamics.boundary = "reflect"`` (or a ``static`` scene): the box is the field, walls at its
    edges.  ``"open"``: the box is the field widened by ``dynamics.boundary_margin_nm`` on each
    side (0 = automatic: two lengths of the longest particle, ``2 · size · max(1, aspect ratio of
    rods and bipyramids) · (1 + 2 cv)``, so that a particle wholly out of view, and the wall, are
    beyond the reach of anything in view, but at most half the field's shorter side, so that a
    tiny field does not need a crowd around it), filled at the density of the field's particles
    (``round(count · A_box / A_field)``, count = :meth:`SimulationConfig.particles_in_view`).
    """
    dyn, pc, v, im = config.dynamics, config.particles, config.video, config.imaging
    in_view = config.particles_in_view()
    if dyn.model == "static" or dyn.boundary == "reflect":
        return 0.0, in_view
    margin = dyn.boundary_margin_nm
    if margin == 0:
        elongated = any(k in ("rod", "bipyramid") and f > 0 for k, f in pc.shapes.items())
        margin = 2 * pc.size_nm * (max(1.0, pc.aspect_ratio) if elongated else 1.0) * (1 + 2 * pc.size_cv)
    h, w = v.height_px * im.pixel_size_nm, v.width_px * im.pixel_size_nm
    if dyn.boundary_margin_nm == 0:
        margin = min(margin, min(h, w) / 2)
    return float(margin), int(round(in_view * (h + 2 * margin) * (w + 2 * margin) / (h * w)))


#: Area fraction at which random sequential placement jams (discs: 0.547, Feder, J. Theor. Biol.
#: 87, 237 (1980)); a larger requested fraction is refused before any shape is built.
_JAMMING_FRACTION = 0.547


def _check_density(config: SimulationConfig, names: list[str], frac: np.ndarray, count: int, margin_nm: float) -> None:
    """ConfigError when ``count`` particles would cover more of the box than random placement can
    reach: an impossible density fails at once, not after building millions of shapes."""
    pc, v, im = config.particles, config.video, config.imaging
    shapes = [make_shape(n, pc.size_nm, aspect_ratio=pc.aspect_ratio, thickness_ratio=pc.thickness_ratio,
                         truncation=pc.truncation, corner_rounding=pc.corner_rounding).outline for n in names]
    area = sum(f * s.area for s, f in zip(shapes, frac)) * (1 + pc.size_cv**2)  # E[s²] = s̄² (1 + cv²)
    h, w = v.height_px * im.pixel_size_nm + 2 * margin_nm, v.width_px * im.pixel_size_nm + 2 * margin_nm
    if max(2 * np.hypot(*np.asarray(s.exterior.coords).T).max() for s in shapes) > min(h, w):
        return  # a particle larger than the field: place_particles names that mistake
    if count * area > _JAMMING_FRACTION * h * w:
        in_view = config.particles_in_view()
        where = f"the simulation box ({in_view} in view, {count} with its {margin_nm:.0f} nm margin)" if margin_nm \
            else f"the field ({in_view} in view)" if pc.density_per_um2 is not None else "the field"
        raise ConfigError(
            f"{pc.count_setting()}: only {int(_JAMMING_FRACTION * h * w / area)} particles of "
            f"~{pc.size_nm:g} nm fit without overlap in the {w:.0f}×{h:.0f} nm of {where} (random placement "
            f"jams at {100 * _JAMMING_FRACTION:.0f} % cover); lower {pc.count_key()} or particles.size_nm"
        )


def place_particles(
    outlines: list, angles: np.ndarray, field_nm: tuple[float, float], *, gap_nm: float,
    rng: np.random.Generator, requested: str = "", key: str = "particles.count", centres_only: bool = False,
) -> np.ndarray:
    """Random non-overlapping centres (N, 2) as (x, y) nm, by sequential random insertion.

    Outlines (body frame, rotated by ``angles``) are kept ``gap_nm`` apart: bounding circles
    first, the exact shapely distance where those overlap.  Each particle gets
    ``_MAX_PLACEMENT_TRIES`` random tries, so an impossible density is a ConfigError, not a hang.
    ``requested`` says, in that message, what the user asked for (default: ``particles.count = `` the
    number placed), and ``key`` the key to lower.
    With ``centres_only`` only the centres must lie in the field (an open boundary's box, whose
    walls act on centres); otherwise whole outlines must.
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
        minx, miny, maxx, maxy = (0.0, 0.0, 0.0, 0.0) if centres_only else rotated[i].bounds
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
                nearest = min(shapely.distance(moved, placed[j]) for j in close)
                if nearest < gap_nm or nearest == 0:  # an overlap is refused at a gap of 0 too
                    continue
            pos[i] = p
            placed.append(affinity.translate(rotated[i], *p))
            break
        else:
            raise ConfigError(
                f"{requested or f'particles.count = {n}'}: only {i} particles of ~{2 * np.median(radii):.0f} nm fit "
                f"without overlap in the {W:.0f}×{H:.0f} nm field; lower {key} or particles.size_nm"
            )
    return pos


def _requested(config: SimulationConfig, count: int, margin_nm: float) -> str:
    """What the user asked for, in a placement error: the key and value, and the particles they mean."""
    pc = config.particles
    notes = [f"{config.particles_in_view()} in view"] if pc.density_per_um2 is not None else []
    if margin_nm:
        notes.append(f"{count} in the simulation box with its {margin_nm:.0f} nm margin")
    return pc.count_setting() + (f" ({', '.join(notes)})" if notes else "")


class Simulation:
    """A simulated video; iterate :meth:`frames` once to render it.

    Parameters
    ----------
    config : validated configuration
    seed : this video's seed (every random stream is spawned from it)
    video_id : name of the video in its dataset
    engine : ``"numba"`` (kernels) or ``"numpy"`` (the references; same physics: the expected
        image and the labels equal to rounding, the detector's Poisson counts drawn by another
        algorithm, so frames of the same law with other noise; see :mod:`simulator.poisson`)
    """

    def __init__(self, config: SimulationConfig, *, seed: int, video_id: str = "video_000",
                 engine: str = "numba") -> None:
        calib = None
        if config.detector.calibration:  # real-frame calibration (simulator.calibration)
            from .calibration import calibrated_config, load_calibration

            calib = load_calibration(config.detector.calibration)
            config = calibrated_config(config, calib)
        self.config = config
        self.engine = engine
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

        # Particles: shape by the configured fractions, size with a normal dispersity, in the
        # simulation box (the field of view, plus the margin of an open boundary).
        rng = self._scene_rng
        self._margin_nm, count = simulation_box(config)
        names = list(pc.shapes)
        frac = np.array([pc.shapes[n] for n in names], float)
        _check_density(config, names, frac / frac.sum(), count, self._margin_nm)
        picks = rng.choice(len(names), size=count, p=frac / frac.sum())
        sizes = pc.size_nm * np.clip(1 + pc.size_cv * rng.standard_normal(count), 0.3, 3.0)
        aspects = np.full(count, pc.aspect_ratio)
        if pc.aspect_ratio_cv > 0:  # drawn only when asked, so other configs keep their bytes
            aspects = np.maximum(aspects * (1 + pc.aspect_ratio_cv * rng.standard_normal(count)), 1.0)
        self.specs: list[ShapeSpec] = [
            make_shape(names[k], s, aspect_ratio=ar, thickness_ratio=pc.thickness_ratio,
                       truncation=pc.truncation, corner_rounding=pc.corner_rounding)
            for k, s, ar in zip(picks, sizes, aspects)
        ]
        self.angles = rng.uniform(0, 2 * np.pi, count)
        m = self._margin_nm
        self.positions_nm = place_particles([s.outline for s in self.specs], self.angles,
                                            (shape[0] * p + 2 * m, shape[1] * p + 2 * m), gap_nm=pc.min_gap_nm,
                                            rng=rng, centres_only=m > 0, key=pc.count_key(),
                                            requested=_requested(config, count, m)) - m
        # Persistent internal keys; the labels and tables show track ids (see Lineage).
        self.ids = np.arange(1, count + 1, dtype=np.uint32)
        self._next_uid = count + 1
        self._init_motion(shape, p)
        mat = get_material(pc.material)
        self.material = mat
        self._pack_shapes()

        # Liquid layer and windows.
        lq = config.liquid
        self.liquid_nm = liquid_thickness_map(
            shape, pixel_size_nm=p, thickness_nm=lq.thickness_nm, bulge_nm=lq.bulge_nm,
            window_halfwidth_um=lq.window_halfwidth_um, window_offset_um=lq.window_offset_um,
            variation_nm=lq.variation_nm, variation_length_nm=lq.variation_length_nm,
            rng=np.random.default_rng(liquid_ss),
        )
        self._blur_px = optics.blur_sigma_nm(lq.thickness_nm, base_nm=im.blur_base_nm, per_nm=im.blur_per_nm) / p
        n0 = im.dose_rate_e_per_A2_s * im.exposure_s * (10.0 * p) ** 2
        self._imager = optics.Imager(n0, self.liquid_nm, mode=im.mode, window_thickness_nm=lq.window_thickness_nm,
                                     efficiency_per_nm=im.haadf_efficiency_per_nm, sigma_px=self._blur_px,
                                     engine=engine)
        self._raster_buffers = RasterBuffers(shape)
        # One expected-image buffer for every frame (:meth:`_exposure`): a fresh 2 MB array per
        # frame costs its page faults.
        self._expected_buf = np.empty_like(self._imager.background_blurred)

        # Detector: MTF and fixed pattern (gain map, hot and dead pixels).
        drng = np.random.default_rng(detector_ss)
        self._mtf = None
        if det.model != "ideal":
            # On the rfft2 half-plane, in float32 as the integrating detector's signal.
            self._mtf = half_plane(resample_mtf(load_mtf_matrix(det.mtf_file), shape) if det.mtf_file
                                   else parametric_mtf(shape, q0=det.mtf_q0, floor=det.mtf_floor),
                                   shape).astype(np.float32)
        self._clip = None
        if calib is not None:
            from .calibration import calibrated_mtf

            self._mtf = half_plane(calibrated_mtf(calib, shape), shape).astype(np.float32)
            self._clip = calib.saturation_level
        self._gain_map = 1 + det.gain_nonuniformity * drng.standard_normal(shape)
        u = drng.random(shape)
        self._defects = np.where(u < det.hot_pixel_fraction, 1,
                                 np.where(u > 1 - det.dead_pixel_fraction, -1, 0)).astype(np.int8)
        self.tracks: Table = []

    def _init_motion(self, shape: tuple[int, int], p: float) -> None:
        """Per-particle body-frame diffusion coefficients (nm²/s, rad²/s) and walls."""
        dyn = self.config.dynamics
        n = len(self.specs)
        self.d_par, self.d_perp, self.d_rot = np.zeros(n), np.zeros(n), np.zeros(n)
        if dyn.model != "static":
            for i, spec in enumerate(self.specs):
                self.d_par[i], self.d_perp[i], self.d_rot[i] = self._diffusion(spec)
        m = self._margin_nm
        self._walls_lo = np.full((n, 2), -m)
        self._walls_hi = np.tile([shape[1] * p + m, shape[0] * p + m], (n, 1)).astype(float)
        self._init_dynamics()

    def _diffusion(self, spec: ShapeSpec) -> np.ndarray:
        """(D∥, D⊥, Dr) of one particle of its current size and shape (nm²/s, rad²/s), LPEM slowdown
        included (:func:`simulator.hydrodynamics.shape_diffusion`)."""
        dyn = self.config.dynamics
        minx, _, maxx, _ = spec.outline.bounds
        return dyn.slowdown * np.array(shape_diffusion(
            spec.name, size_nm=spec.height_nm if spec.name in ("sphere", "rod") else maxx - minx,
            length_nm=maxx - minx, area_nm2=spec.outline.area,
            # 40 offsets: midpoint rule, relative error ~1e-4 in V, ~3e-5 in D ∝ V^(-1/3)
            volume_nm3=profile_volume(spec, n_offsets=40) if spec.name in _COMPACT else 0.0,
            temperature_K=dyn.temperature_K, viscosity_Pa_s=dyn.viscosity_Pa_s))

    def _init_dynamics(self) -> None:
        """Noise model, flow and interactions of :mod:`simulator.dynamics` (dynamics helper).

        The noise stream draws from the scene generator, so ``brownian`` without flow or
        interactions gives the same bytes as plain :func:`simulator.brownian.brownian_steps`.
        With interactions, the sub-step is also short enough that the fastest particle's rms
        random step stays below ``dynamics.max_step_nm`` (:meth:`_limit_step`, again after every
        reaction), and ``self.potential`` holds the orientation-averaged pair potential
        (:meth:`_pair_potential`).  A scene that starts without particles gets its interaction
        sites too, so that the particles nucleated later interact and bound the step.
        """
        dyn, im = self.config.dynamics, self.config.imaging
        n = len(self.specs)
        self._dt_s = im.frame_interval_s / dyn.substeps
        self._flow = np.asarray(dyn.flow_nm_s, float) if any(dyn.flow_nm_s) else None
        self._sites = self._params = None
        self.potential: Table | None = None
        if dyn.model == "static":
            return
        if dyn.interactions:
            site_list = [interaction_sites(s.outline) for s in self.specs]
            self._sites = Sites([b for b, _ in site_list], [r for _, r in site_list])
            self._params = InteractionParams.from_physical(
                ionic_strength_M=dyn.ionic_strength_M, surface_potential_mV=dyn.surface_potential_mV,
                hamaker_J=dyn.hamaker_J, temperature_K=dyn.temperature_K, core_nm=dyn.hard_core_nm,
                depletant_fraction=dyn.depletant_fraction, depletant_radius_nm=dyn.depletant_radius_nm)
            self._limit_step()
            self.potential = self._pair_potential(site_list)
        per_frame = int(np.ceil(im.frame_interval_s / self._dt_s))
        grid_steps = self.meta.shape[0] * (per_frame + dyn.blur_steps + 1)
        self._noise = NoiseStream(dyn.model, n, rng=self._scene_rng, tau_s=im.frame_interval_s,
                                  steps=grid_steps, hurst=dyn.hurst, alpha=dyn.ctrw_alpha,
                                  t0_s=dyn.ctrw_min_wait_s, mobile_s=dyn.ctrw_mobile_s)

    def _pair_potential(self, site_list: list[tuple[np.ndarray, np.ndarray]]) -> Table | None:
        """The orientation-averaged pair potential (rows of r_nm, U_kT) of two particles of the
        commonest shape at the start, of its median size, whose sites (:func:`interaction_sites`)
        are ``site_list``.  A scene that starts without particles: that of two nuclei
        (``reactions.nucleus_radius_nm``), the only particles that can appear in it; None when it
        has no nucleation either, and so never a pair.
        """
        n = len(self.specs)
        rc = self.config.reactions
        if n:
            names = [s.name for s in self.specs]
            # the commonest shape, a tie going to the first placed (a max over a set of strings would
            # follow the process's string-hash seed, and potential.csv with it)
            common = Counter(names).most_common(1)[0][0]
            k = [i for i in range(n) if names[i] == common]
            k = k[int(np.argsort([self.specs[i].radius_nm for i in k])[len(k) // 2])]  # median size
            body, radius = site_list[k]
        elif rc.nucleation_rate_per_um2_s > 0:
            body, radius = interaction_sites(self._nucleus_spec().outline)
        else:
            return None
        reach = float(np.hypot(*body.T).max() + radius.max()) if len(body) else 0.0
        r_nm = np.arange(2 * float(radius.min()), 2 * reach + self._params.cut_nm + 1.0, 0.5)
        return pair_potential_table(body, radius, body, radius, self._params, r_nm)

    def _limit_step(self, frame: int = 0) -> None:
        """Shorten the sub-step ``self._dt_s`` so that the fastest particle's rms random step per
        body axis over a step stays below s = ``dynamics.max_step_nm``; a ConfigError when that
        takes more than ``_MAX_STEPS_PER_FRAME`` steps a frame.

        The rms step per axis over dt, D = max(D∥, D⊥) (:class:`simulator.dynamics.motion.NoiseStream`):

        - ``brownian``: ``sqrt(2 D dt)``, so ``dt ≤ s² / (2 D)``;
        - ``ctrw``: the same in a mobile spell, less in a step that is partly pinned (its noise is
          scaled by the square root of the mobile fraction), so the same limit;
        - ``fbm``: unit fGn scaled by (dt/τ)^(H-½), so ``sqrt(2 D τ) (dt/τ)^H`` (τ the frame
          interval; summed over τ/dt steps its variance is 2 D τ, the MSD 4 D τ of the config), and
          ``dt ≤ τ (s² / (2 D τ))^(1/(2H))``: shorter than the Brownian limit for H < ½ (at dt/τ =
          0.01 and H = 0.35 the Brownian limit lets the rms step reach 2.0 times s), longer for H > ½.

        With interactions, called at the start (``frame`` = 0; with nucleation, the step is set for
        the nuclei already then) and after every frame's reactions (``frame`` > 0): etched particles
        are faster than the first frame's particles.  The step is
        not bounded once at the start by the fastest particle reactions can make, because no such
        bound follows from the config: a rounded body's thickness, which sets its D
        (:meth:`_diffusion`), is twice the distance from its centroid to its outline, and
        anisotropic etching flattens a sphere into a lens that keeps the critical area
        (``reactions.critical_radius_nm``) at a fraction of that thickness (a 40 nm sphere at
        ``reactions.anisotropy`` = 10 reaches 2.5 times the D of a sphere of the critical radius,
        tests/dynamics/test_simulate_dynamics.py).  The sub-step only ever shortens, so a scene whose particles get no faster than
        the first frame's keeps its steps and its bytes.  After a shortening the noise drawn ahead
        (:class:`simulator.dynamics.motion.NoiseStream`, sized for the first sub-step) is used
        faster: ``fbm`` scales each value to the new step ((dt/τ)^(H-½), as for the sub-steps
        inside the exposure) and draws an independent block when the first runs out, which cuts
        the anticorrelation of fbm at the blocks' edges (an etched fbm scene that shortens its step
        much moves too far; only etching can still do it, nuclei are provided for at the start).
        """
        dyn, im = self.config.dynamics, self.config.imaging
        tau, s = im.frame_interval_s, dyn.max_step_nm
        d = [self.d_par.max(initial=0.0), self.d_perp.max(initial=0.0)]
        if frame == 0 and self.config.reactions.nucleation_rate_per_um2_s > 0:
            # the nuclei to come, from the start: the noise drawn ahead (fbm's correlated grid
            # above all) is sized for this step, and a scene that starts empty has only them
            d += list(self._diffusion(self._nucleus_spec())[:2])
        d_max = float(max(d))
        if d_max > 0:
            if dyn.model == "fbm":
                # no limit below τ where s² ≥ 2 D τ (the min keeps a small H from overflowing); a
                # small H may underflow the limit to 0, refused below
                limit_s = tau * min(1.0, s**2 / (2 * d_max * tau)) ** (1 / (2 * dyn.hurst))
            else:
                limit_s = s**2 / (2 * d_max)
            self._dt_s = min(self._dt_s, limit_s)
        per_frame = tau / self._dt_s if self._dt_s > 0 else math.inf
        if per_frame > _MAX_STEPS_PER_FRAME:
            count = f"{math.ceil(per_frame)}" if per_frame < 1e15 else "more than 1e15"
            when = f" from frame {frame} on (after reactions made a particle faster)" if frame else ""
            model = f", fbm of dynamics.hurst = {dyn.hurst:g}" if dyn.model == "fbm" else ""
            raise ConfigError(
                f"dynamics: {count} integration steps per frame{when} (interactions keep each step under "
                f"dynamics.max_step_nm = {s:g} nm for the fastest particle, D = {d_max:.3g} nm^2/s{model}), "
                f"more than {_MAX_STEPS_PER_FRAME}; lower dynamics.slowdown ({dyn.slowdown:g}), raise "
                f"dynamics.max_step_nm or shorten imaging.frame_interval_s")

    def _react(self, frame: int, lineage: Lineage) -> None:
        """Reactions over the interval before ``frame`` (:mod:`simulator.dynamics.reactions`;
        dynamics helper): etching/growth and dissolution, coalescence, nucleation, in that order.
        Physical events go to ``lineage`` (:meth:`Lineage.record`).  Etched or grown particles get
        the diffusion coefficients of their new size; with interactions the sub-step shortens when
        one of them, or a new nucleus, is faster than the step allows (:meth:`_limit_step`).  A
        ``static`` scene is frozen: no reactions either.
        """
        rc = self.config.reactions
        if frame == 0 or self.config.dynamics.model == "static":
            return
        reacted = False  # whether a reaction may have changed the shapes (else the packed outlines stay)
        if rc.etch_rate_nm_s != 0 and self.specs:
            self._etch(frame, lineage)
            reacted = True
        if rc.merge and len(self.specs) > 1:
            self._coalesce(frame, lineage)
            reacted = True
        if rc.nucleation_rate_per_um2_s > 0:
            self._nucleate(frame, lineage)
            reacted = True
        if reacted:
            self._pack_shapes()
            if self._sites is not None:
                self._limit_step(frame)

    def _etch(self, frame: int, lineage: Lineage) -> None:
        rc, im = self.config.reactions, self.config.imaging
        k = dose_rate_scaling(rc.etch_rate_nm_s, im.dose_rate_e_per_A2_s, rc.dose_rate_ref)
        keep = np.ones(len(self.specs), bool)
        for i, spec in enumerate(self.specs):
            out = evolve_outline(spec.outline, k, im.frame_interval_s, curvature_gain=rc.curvature_gain,
                                 capillary_nm=rc.capillary_nm, anisotropy=rc.anisotropy)
            rounded = spec.name in ("sphere", "rod")
            h = etched_thickness(spec.height_nm, out, k, im.frame_interval_s, rounded=rounded) if out else 0.0
            if out is None or h <= 0 or out.area < np.pi * rc.critical_radius_nm**2:
                keep[i] = False
                lineage.record("dissolve", [self.ids[i]])
                continue
            self.specs[i] = ShapeSpec(spec.name, out, h, h / 2 if rounded else min(spec.rounding_nm, h / 2),
                                      spec.profile)
            if self.config.dynamics.model != "static":
                self.d_par[i], self.d_perp[i], self.d_rot[i] = self._diffusion(self.specs[i])
            if self._sites is not None:
                self._sites.replace(i, *interaction_sites(self.specs[i].outline))
        self._keep(keep)

    def _keep(self, keep: np.ndarray) -> None:
        """Drop the particles where ``keep`` is false from every per-particle array."""
        self.specs = [s for s, kp in zip(self.specs, keep) if kp]
        self.angles, self.positions_nm, self.ids = self.angles[keep], self.positions_nm[keep], self.ids[keep]
        self.d_par, self.d_perp, self.d_rot = self.d_par[keep], self.d_perp[keep], self.d_rot[keep]
        self._walls_lo, self._walls_hi = self._walls_lo[keep], self._walls_hi[keep]
        if self.config.dynamics.model != "static":
            self._noise.keep(keep)
        if self._sites is not None:
            self._sites.keep(keep)

    def _append(self, spec: ShapeSpec, pos: np.ndarray, angle: float) -> int:
        """Add one particle (nucleated or merged) to every per-particle array; returns its uid."""
        dyn = self.config.dynamics
        d = np.zeros(3)
        if dyn.model != "static":
            d = self._diffusion(spec)
            self._noise.add(1)
        self.specs.append(spec)
        self.positions_nm = np.vstack([self.positions_nm, pos[None]])
        self.angles = np.append(self.angles, angle)
        pid = self._next_uid
        self._next_uid += 1
        self.ids = np.append(self.ids, np.uint32(pid))
        self.d_par, self.d_perp, self.d_rot = (np.append(x, v) for x, v in zip((self.d_par, self.d_perp, self.d_rot), d))
        h, w = self.meta.shape[1:]
        p, m = self.config.imaging.pixel_size_nm, self._margin_nm
        self._walls_lo = np.vstack([self._walls_lo, [[-m, -m]]])
        self._walls_hi = np.vstack([self._walls_hi, [[w * p + m, h * p + m]]])
        if self._sites is not None:
            self._sites.add(*interaction_sites(spec.outline))
        return int(pid)

    def _lab_outlines(self, positions_nm: np.ndarray | None = None, angles: np.ndarray | None = None, *,
                      index: np.ndarray | None = None) -> list:
        """Lab-frame outlines (shapely) at the given state (default: the current one), of every
        particle or of those in ``index``.

        The coordinates are those of ``affinity.translate(affinity.rotate(outline, angle,
        origin=(0, 0), use_radians=True), x, y)``, bit for bit (the same products and sums, the same
        ``math.cos``/``math.sin`` with shapely's snapping of |cos|, |sin| < 2.5e-16 to 0), computed
        for all outlines at once.
        """
        import shapely

        pos = self.positions_nm if positions_nm is None else positions_nm
        ang = self.angles if angles is None else angles
        index = np.arange(len(self.specs)) if index is None else np.asarray(index, np.intp)
        if not len(index):
            return []
        geoms = np.array([self.specs[i].outline for i in index], dtype=object)
        xy, owner = shapely.get_coordinates(geoms, return_index=True)
        cs = np.array([(math.cos(a), math.sin(a)) for a in ang[index].tolist()]).reshape(-1, 2)
        cs[np.abs(cs) < 2.5e-16] = 0.0
        c, s = cs[owner, 0], cs[owner, 1]
        x, y = xy[:, 0], xy[:, 1]
        xy = np.stack([c * x + -s * y + pos[index, 0][owner], s * x + c * y + pos[index, 1][owner]], axis=1)
        return list(shapely.set_coordinates(geoms, xy))

    def _pack_shapes(self) -> None:
        """What rendering reads of the shapes, kept until they change (at the start and after a
        reaction): ``_packed_static`` (vertices, heights, rounding, profiles per particle) and
        ``_outlines`` (:func:`simulator._raster.pack_outlines`: verts, offsets, edges, radii)."""
        verts = [s.vertices for s in self.specs]
        self._packed_static = (verts, [s.height_nm for s in self.specs], [s.rounding_nm for s in self.specs],
                               [s.profile for s in self.specs])
        self._outlines = pack_outlines(verts)

    def _radii(self) -> np.ndarray:
        """(N,) radius (nm) of the smallest centred circle holding each outline
        (:attr:`ShapeSpec.radius_nm`)."""
        return self._outlines[3]

    def _rows(self, frame: int, tid: np.ndarray, pos: np.ndarray, angles: np.ndarray, chain: np.ndarray) -> Table:
        """The ``particles.csv`` rows of one frame: the particles in view (track id > 0), by track id."""
        import shapely

        order = np.argsort(tid, kind="stable")
        order = order[tid[order] > 0]
        outlines = [self.specs[i].outline for i in order]
        cols = zip(tid[order].tolist(), pos[order, 0].tolist(), pos[order, 1].tolist(),
                   (angles[order] % (2 * np.pi)).tolist(), shapely.area(outlines).tolist(),
                   shapely.length(outlines).tolist(), [self.specs[i].name for i in order],
                   [float(self.specs[i].height_nm) for i in order],
                   ((self.d_par[order] + self.d_perp[order]) / 2).tolist(), self.d_rot[order].tolist(),
                   chain[order].tolist())
        mat = self.material.name
        return [{"frame": frame, "id": i, "x_nm": x, "y_nm": y, "angle_rad": a, "area_nm2": ar, "perimeter_nm": pe,
                 "shape": sh, "material": mat, "thickness_nm": h, "D_nm2_s": d, "Dr_rad2_s": dr, "chain_id": c}
                for i, x, y, a, ar, pe, sh, h, d, dr, c in cols]

    def _coalesce(self, frame: int, lineage: Lineage) -> None:
        """Merge pairs closer than ``merge_gap_nm`` (each particle at most once per frame)."""
        import shapely

        gap = self.config.reactions.merge_gap_nm
        lab = self._lab_outlines()
        tree = shapely.STRtree(lab)
        left, right = tree.query(lab, predicate="dwithin", distance=gap)
        used, keep, new = set(), np.ones(len(lab), bool), []
        for i, j in zip(left, right):
            if i >= j or i in used or j in used:
                continue
            used.update((i, j))
            keep[[i, j]] = False
            if self.specs[i].name == self.specs[j].name == "sphere":  # exact volumes π d³/6
                vi, vj = (np.pi / 6 * self.specs[k].height_nm**3 for k in (i, j))
                spec = make_shape("sphere", (6 * (vi + vj) / np.pi) ** (1 / 3))
                centre = (vi * self.positions_nm[i] + vj * self.positions_nm[j]) / (vi + vj)
            else:
                vi, vj = profile_volume(self.specs[i]), profile_volume(self.specs[j])
                body, centre, h = merge_outlines(self.specs[i].outline, self.positions_nm[i], self.angles[i], vi,
                                                 self.specs[j].outline, self.positions_nm[j], self.angles[j], vj)
                # named after a parent that is not a sphere: a "sphere" of mean thickness h would
                # diffuse as a sphere of diameter h, several times too fast
                k = j if self.specs[i].name == "sphere" else i
                spec = ShapeSpec(self.specs[k].name, body, h, min(h / 2, self.specs[k].rounding_nm),
                                 self.specs[k].profile)
            new.append((spec, centre, (int(self.ids[i]), int(self.ids[j]))))
        self._keep(keep)
        for spec, centre, parents in new:
            child = self._append(spec, centre, 0.0)  # a merged outline is built in the lab frame
            lineage.record("merge", [*parents, child])

    def _nucleus_spec(self) -> ShapeSpec:
        """A new nucleus: a sphere of ``reactions.nucleus_radius_nm``."""
        return make_shape("sphere", 2 * self.config.reactions.nucleus_radius_nm)

    def _nucleate(self, frame: int, lineage: Lineage) -> None:
        """Poisson nuclei (spheres) at random places that do not overlap another particle."""
        from shapely.geometry import Point

        rc, im = self.config.reactions, self.config.imaging
        h, w = self.meta.shape[1:]
        p, m = im.pixel_size_nm, self._margin_nm
        area_um2 = (h * p + 2 * m) * (w * p + 2 * m) * 1e-6  # the whole simulation box
        rng = self._scene_rng
        lab = self._lab_outlines()
        r = rc.nucleus_radius_nm
        for _ in range(nucleation_count(rc.nucleation_rate_per_um2_s, area_um2, im.frame_interval_s, rng=rng)):
            spec = self._nucleus_spec()
            xy = rng.uniform(r - m, [w * p + m - r, h * p + m - r])
            disc = Point(*xy).buffer(r + rc.merge_gap_nm)
            if any(disc.intersects(o) for o in lab):
                continue  # a nucleus on a particle is growth of that particle, not a new one
            lineage.record("nucleate", [self._append(spec, xy, 0.0)])
            lab.append(disc)

    def _advance(self, duration_s: float) -> None:
        """Move the particles for ``duration_s`` seconds (no-op for static scenes)."""
        dyn = self.config.dynamics
        if dyn.model == "static" or duration_s <= 0 or not len(self.specs):
            return
        steps = max(1, int(np.ceil(duration_s / self._dt_s - 1e-9)))
        overdamped_steps(self.positions_nm, self.angles, self.d_par, self.d_perp, self.d_rot,
                         dt=duration_s / steps, steps=steps, lo=self._walls_lo, hi=self._walls_hi,
                         noise=self._noise, velocity_nm_s=self._flow, sites=self._sites, params=self._params)

    def _exposure(self, drift: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Expected image averaged over the exposure (an array reused by the next call), and
        labels/positions/angles at mid-exposure.

        The blurred particle-free image is the same in every state, so the mean over the
        ``blur_steps`` states is that image plus the mean of the states' particle terms
        (:meth:`simulator.optics.Imager.add`).
        """
        im, dyn = self.config.imaging, self.config.dynamics
        total = self._expected_buf  # valid until the next call
        np.copyto(total, self._imager.background_blurred)
        if dyn.model == "static":
            labels = self._render(total, self.positions_nm + drift, self.angles, weight=1.0)
            return total, labels, self.positions_nm + drift, self.angles.copy()
        B = dyn.blur_steps
        times = im.exposure_s * (np.arange(B) + 0.5) / B
        now = 0.0
        for k, t in enumerate(times):
            self._advance(t - now)
            now = t
            lab = self._render(total, self.positions_nm + drift, self.angles, weight=1.0 / B)
            if k == B // 2:
                labels, pos, ang = lab, self.positions_nm + drift, self.angles.copy()
        self._advance(im.frame_interval_s - now)
        return total, labels, pos, ang

    # ------------------------------------------------------------------ rendering

    def _render(self, out: np.ndarray, positions_nm: np.ndarray, angles: np.ndarray, *, weight: float) -> np.ndarray:
        """Add ``weight`` × the particles' term of the blurred expected image of one state to
        ``out`` (:meth:`simulator.optics.Imager.add`); return that state's labels."""
        p = self.config.imaging.pixel_size_nm
        verts, heights, rounding, profiles = self._packed_static
        n = len(verts)
        outlines = self._outlines
        packed = pack_particles(
            verts, positions_nm[:, 0] / p if n else [], positions_nm[:, 1] / p if n else [], angles,
            heights, rounding, profiles, np.full(n, 1 / self.material.mean_free_path_nm),
            np.full(n, self.material.haadf_weight), self.ids, outlines=outlines,
        )
        tau_p, thick, haadf, labels = rasterize(packed, outlines[3], self.meta.shape[1:], pixel_size_nm=p,
                                                engine=self.engine, buffers=self._raster_buffers,
                                                edges=outlines[2])
        self._imager.add(out, tau_p, haadf, thick, weight=weight)
        return labels

    @property
    def background_electrons(self) -> np.ndarray:
        """Expected electrons per pixel of the cell without particles (windows and liquid, its random
        thickness variation included, after the optics' blur), (Y, X) float; read-only view."""
        view = self._imager.background_blurred.view()
        view.flags.writeable = False
        return view

    def expected_electrons(self, positions_nm: np.ndarray, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected electrons per pixel (before the detector) and labels for one particle state."""
        out = self._imager.background_blurred.copy()
        labels = self._render(out, positions_nm, angles, weight=1.0)
        return out, labels

    def _warn_counting_overload(self, mean_electrons: float, saturation: float) -> None:
        """Log a warning when a counting detector works beyond its linear range (contrast compressed
        or inverted by coincidence loss)."""
        if mean_electrons > COUNTING_LINEAR_FRACTION * saturation:
            log.warning("%s: counting detector beyond its linear range: %.0f electrons per pixel per frame "
                        "against detector.saturation_counts_per_frame = %g (contrast is compressed, and "
                        "inverted beyond it); lower imaging.dose_rate_e_per_A2_s or use detector.model = "
                        "'integrating'", self.meta.video_id, mean_electrons, saturation)

    def frames(self) -> Iterator[FrameOutput]:
        """Render the frames in order (a generator; iterate once)."""
        cfg = self.config
        det, im = cfg.detector, cfg.imaging
        T = self.meta.shape[0]
        drift = np.zeros(2)
        lineage = Lineage()
        contact = cfg.dynamics.contact_nm
        for t in range(T):
            first = len(lineage.events)
            self._react(t, lineage)
            if t > 0 and im.drift_nm_per_frame > 0:
                drift = drift + im.drift_nm_per_frame / np.sqrt(2) * self._scene_rng.standard_normal(2)
            expected, labels, pos, angles = self._exposure(drift)
            if t == 0 and det.model == "counting":
                self._warn_counting_overload(float(expected.mean()), det.saturation_counts_per_frame)
            image = record(
                expected, model=det.model, mtf=self._mtf, rng=self._noise_rng,
                conversion_gain=det.conversion_gain, gain_spread=det.gain_spread, read_noise=det.read_noise,
                dark_offset=det.dark_offset, gain_map=self._gain_map, defects=self._defects,
                saturation_counts_per_frame=det.saturation_counts_per_frame, engine=self.engine,
            )
            if self._clip is not None:
                image = np.minimum(image, self._clip).astype(image.dtype)
            # What the labels show decides the tracks: uid -> track id, and the labels are relabelled.
            n_ids = int(self.ids.max(initial=0))
            track_of = lineage.view(t, visible_ids(labels, n_ids, engine=self.engine))
            lut = np.zeros(n_ids + 1, labels.dtype)
            lut[np.fromiter(track_of, np.int64, len(track_of))] = np.fromiter(track_of.values(), np.int64,
                                                                               len(track_of))
            labels = relabel(labels, lut, engine=self.engine)  # labels is this frame's own array
            tid = lut[self.ids].astype(np.int64)
            chain = chain_ids(lambda k, pos=pos, angles=angles: self._lab_outlines(pos, angles, index=k), tid,
                              contact_nm=contact, centres_nm=pos, radii_nm=self._radii())
            rows = self._rows(t, tid, pos, angles, chain)
            yield FrameOutput(image=image, labels=labels, particles=rows, events=lineage.events[first:])
        self.tracks = lineage.tracks


def simulate_video(config: SimulationConfig, *, seed: int, video_id: str = "video_000",
                   engine: str = "numba") -> Video:
    """Render a whole video in memory (for small videos and tests; datasets stream instead)."""
    sim = Simulation(config, seed=seed, video_id=video_id, engine=engine)
    frames, labels, particles, events = [], [], [], []
    for out in sim.frames():
        frames.append(out.image)
        labels.append(out.labels)
        particles.extend(out.particles)
        events.extend(out.events)
    return Video(meta=sim.meta, frames=np.stack(frames), labels=np.stack(labels), particles=particles,
                 tracks=sim.tracks, events=events, config=config.model_dump(mode="json"),
                 potential=sim.potential)
