"""Simulation configuration: validated pydantic models, TOML presets and ``key=value`` overrides.

A configuration is a :class:`SimulationConfig`.  It comes from a preset shipped in
``simulator/presets/<name>.toml`` (or a user's TOML file), with overrides such as
``imaging.dose_rate_e_per_A2_s=20`` applied on top.  Every unknown key, wrong type and
out-of-range value is a :class:`~simulator.errors.ConfigError` whose one-line message names the
key, the value given and what is allowed.

Units follow ``../shared/DESIGN.md``: nm, s, e⁻/Å², e⁻/Å²/s, radians, K.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer, model_validator

from .errors import ConfigError
from .materials import haadf_fraction_per_nm

__all__ = [
    "VideoConfig",
    "ImagingConfig",
    "DetectorConfig",
    "LiquidConfig",
    "ParticlesConfig",
    "DynamicsConfig",
    "SimulationConfig",
    "list_presets",
    "load_config",
    "config_schema",
    "apply_overrides",
]


class _Strict(BaseModel):
    """Base for every section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class VideoConfig(_Strict):
    """How many videos, frames and pixels.

    Defaults (20 frames of 256 x 256 px, one video): the project's small default, a 2 s clip at
    the default 10 frames/s; not taken from a study.
    """

    count: int = Field(1, ge=1, le=100_000, description="number of videos in the dataset")
    frames: int = Field(20, ge=1, le=1_000_000, description="frames per video")
    height_px: int = Field(256, ge=16, le=8192, description="frame height in pixels")
    width_px: int = Field(256, ge=16, le=8192, description="frame width in pixels")


class ImagingConfig(_Strict):
    """Electron-optical conditions.

    Defaults: 200 kV TEM at ~1 nm/px, 10 frames/s (exposure 0.05 s in a 0.1 s frame
    interval), and a dose rate of 100 e-/A^2/s, in the 1-1000 e-/A^2/s range of LPEM imaging of
    Au nanoparticles (Woehl et al., Ultramicroscopy 2013; Yao et al., ACS Cent. Sci. 2020).
    Blur: chromatic blur grows with the liquid crossed; sigma = blur_base_nm + blur_per_nm *
    thickness gives ~1 nm at 150 nm of water and ~5 nm at 1 um, the resolutions reported for
    TEM of liquid layers by de Jonge & Ross, Nat. Nanotechnol. 6, 695 (2011), Fig. 4.  The pixel
    of ~1 nm is that of Yao et al. 2020's simulations (its real frames: 1.727 nm/px); the
    exposure and frame interval are the project's illustrative choice of a 10 frames/s camera.
    """

    mode: Literal["bright-field", "haadf"] = Field(
        "bright-field", description="bright-field TEM (dark particles) or HAADF-STEM (bright)"
    )
    pixel_size_nm: float = Field(1.0, gt=0.01, le=100.0, description="pixel size at the sample (nm)")
    exposure_s: float = Field(0.05, gt=0.0, le=60.0, description="exposure time of one frame (s)")
    frame_interval_s: float = Field(0.1, gt=0.0, le=3600.0, description="time between frames (s)")
    dose_rate_e_per_A2_s: float = Field(
        100.0, gt=0.0, le=1e6, description="electron dose rate at the sample (e-/A^2/s)"
    )
    blur_base_nm: float = Field(0.3, ge=0.0, le=100.0, description="optics blur sigma without liquid (nm)")
    blur_per_nm: float = Field(0.005, ge=0.0, le=1.0, description="blur sigma added per nm of liquid (nm/nm)")
    drift_nm_per_frame: float = Field(0.0, ge=0.0, le=100.0, description="RMS random sample drift per frame (nm)")
    # 0.0209: the Lenz model's single scattering of 1 nm of Au onto a 50-200 mrad annular detector
    # at 200 kV (simulator.materials.haadf_fraction_per_nm; Egerton 2011, §3.1)
    haadf_efficiency_per_nm: float = Field(
        round(haadf_fraction_per_nm("Au", voltage_kV=200.0), 4), gt=0.0, le=0.1,
        description="HAADF: fraction of the beam scattered onto the detector per nm of Au",
    )

    @model_validator(mode="after")
    def _exposure_fits_interval(self) -> "ImagingConfig":
        if self.exposure_s > self.frame_interval_s:
            raise ValueError(
                f"exposure_s ({self.exposure_s}) must not exceed frame_interval_s "
                f"({self.frame_interval_s})"
            )
        return self


class DetectorConfig(_Strict):
    """Camera model (see simulator.detector for the physics and sources).

    Integrating-camera defaults: a scintillator-coupled CMOS at 200 kV with a read noise of a few
    counts (Gatan OneView-class; the read noise and gain of such scintillator-coupled cameras as
    measured by McMullan et al., Ultramicroscopy 109, 1126 (2009), before OneView itself).  Its
    ``conversion_gain`` of 8 counts per electron and ``gain_spread`` of 0.5 (a noise factor 1 + s² =
    1.25) are this project's illustrative choices, on the low side of what is measured — 10-30
    counts per electron for such cameras (McMullan et al. 2009), a noise factor of about 1.5 at
    200-300 kV, s ≈ 0.7 (Meyer & Kirkland, Ultramicroscopy 75, 23 (1998)).  ``nanoaq calibrate``
    measures a camera's own gain, read noise and MTF from its frames; the MTF width and floor,
    offset, gain non-uniformity and defect fractions are likewise illustrative, as is the counting
    model's ``saturation_counts_per_frame`` = 2000.
    """

    model: Literal["ideal", "counting", "integrating"] = Field(
        "integrating",
        description="ideal: exact Poisson counts; counting: + MTF and coincidence loss; "
        "integrating: + deposit spread, gain, read noise, offset, defects, saturation",
    )
    mtf_file: str | None = Field(None, description="measured MTF matrix (.mat with MTFmatrix, or .npy); "
                                 "default: parametric")
    mtf_q0: float = Field(0.25, gt=0.0, le=10.0, description="parametric MTF: Lorentzian width (cycles/px)")
    mtf_floor: float = Field(0.1, ge=0.0, le=1.0, description="parametric MTF: high-frequency floor")
    conversion_gain: float = Field(8.0, gt=0.0, le=1000.0, description="integrating: counts per electron")
    gain_spread: float = Field(0.5, ge=0.0, le=5.0, description="integrating: relative spread of one electron's deposit")
    read_noise: float = Field(3.0, ge=0.0, le=1000.0, description="integrating: Gaussian read noise (counts RMS)")
    dark_offset: float = Field(100.0, ge=0.0, le=60000.0, description="integrating: dark offset (counts)")
    gain_nonuniformity: float = Field(0.01, ge=0.0, le=0.5, description="integrating: RMS pixel gain variation")
    hot_pixel_fraction: float = Field(1e-4, ge=0.0, le=0.1, description="integrating: fraction of hot pixels")
    dead_pixel_fraction: float = Field(1e-4, ge=0.0, le=0.1, description="integrating: fraction of dead pixels")
    saturation_counts_per_frame: float = Field(
        2000.0, gt=0.0,  # illustrative (a count per frame, not a measured camera's rate; see simulator.detector)
        description="counting: electrons per pixel per frame at which the recorded fraction falls to 1/e "
                                 "(63 % lost; the recorded counts peak there)"
    )
    calibration: str | None = Field(
        None, description="calib.json of `nanoaq calibrate`: integrating detector with the measured MTF, noise "
        "gain, read noise and offset, dose and background texture of real frames (simulator.calibration)",
    )

    @model_serializer(mode="wrap")
    def _omit_unset_calibration(self, handler: Any) -> dict[str, Any]:
        # Without a calibration the dump (and so every dataset's config.json) keeps its bytes.
        data = handler(self)
        if data.get("calibration", "") is None:
            del data["calibration"]
        return data


class LiquidConfig(_Strict):
    """The liquid cell: two windows and the liquid between them (see simulator.liquid).

    Defaults: 150 nm of water between two 50 nm SiN windows, within the 50-600 nm liquid and windows of
    tens of nm of typical LPEM cells (de Jonge & Ross, Nat. Nanotechnol. 6, 695 (2011)); the
    bulge, window size and field offset, and the 3 nm RMS / 60 nm thickness variation, are the
    project's illustrative values (simulator.liquid), not measurements of one cell.
    """

    thickness_nm: float = Field(
        150.0, gt=0.0, le=10_000.0, description="liquid thickness at the centre of the field (nm)"
    )
    window_thickness_nm: float = Field(50.0, ge=0.0, le=1000.0, description="each SiN window (nm)")
    bulge_nm: float = Field(200.0, ge=0.0, le=10_000.0, description="window bulging at the window centre (nm)")
    window_halfwidth_um: float = Field(25.0, gt=0.0, le=1000.0, description="half-width of the window (um)")
    window_offset_um: float = Field(10.0, ge=0.0, le=1000.0, description="distance of the field from the window centre (um)")
    variation_nm: float = Field(3.0, ge=0.0, le=1000.0, description="RMS of the slow random thickness variation (nm)")
    variation_length_nm: float = Field(
        60.0, gt=0.0, le=100_000.0,
        description="its correlation length (nm): the sigma of the Gaussian filter of white noise, autocorrelation "
                    "exp(-r^2/4 sigma^2), 1/e at 2 sigma")


ShapeName = Literal["sphere", "rod", "prism", "cube", "concave-cube", "hexagonal-plate", "bipyramid"]
MaterialName = Literal["Au", "Ag", "Pt", "Pd", "polystyrene", "protein"]


class ParticlesConfig(_Strict):
    """The particle population (see simulator.shapes and simulator.materials).

    How many particles are in view at the start is set by one of two keys: ``count`` (a number,
    whatever the field size) or ``density_per_um2`` (particles per um^2 of field, so that a preset
    keeps its crowding at every ``video.height_px``/``width_px`` and ``imaging.pixel_size_nm``:
    ``round(density_per_um2 * field area in um^2)``, at least 1; :meth:`count_in`).  They are
    exclusive: one file (or one list of overrides) that sets both is a ConfigError, and an override
    of one replaces the other where a preset or file set it (``--set particles.count=60`` on a
    density preset gives 60 particles; see :func:`apply_overrides`).  Without either, ``count`` = 20.

    The defaults (20 Au spheres of 20 nm, 10 % size spread, corners rounded by 5 % of the edge,
    prism tips truncated by 10 %, 2 nm placement gap) are the project's illustrative values; the
    presets set their own, each with its source (simulator/presets/*.toml).
    """

    count: int = Field(20, ge=0, le=1_000_000,
                       description="particles in view at the start (exclusive with density_per_um2)")
    density_per_um2: float | None = Field(
        None, gt=0.0, le=1e6,
        description="particles per um^2 of field at the start: round(density x field area), at least 1; "
        "exclusive with count (an override of one replaces the other set by the preset)",
    )
    shapes: dict[ShapeName, float] = Field(
        default_factory=lambda: {"sphere": 1.0}, description="relative fractions of each shape"
    )
    material: MaterialName = Field("Au", description="particle material")
    size_nm: float = Field(20.0, gt=0.5, le=10_000.0, description="mean characteristic size (nm)")
    size_cv: float = Field(0.1, ge=0.0, le=1.0, description="coefficient of variation of the size")
    aspect_ratio: float = Field(3.0, ge=1.0, le=20.0, description="length/width of rods and bipyramids")
    aspect_ratio_cv: float = Field(
        0.0, ge=0.0, le=1.0,
        description="coefficient of variation of the aspect ratio (shape dispersity)",
    )
    corner_rounding: float = Field(
        0.05, ge=0.0, le=0.28, description="corner radius of prisms, cubes and plates (fraction of the edge; a "
        "triangle's inradius is 0.289 of its edge, and a larger rounding leaves nothing)"
    )
    thickness_ratio: float = Field(0.2, gt=0.0, le=1.0, description="thickness/edge of prisms and plates")
    truncation: float = Field(0.1, ge=0.0, le=0.3, description="prism tip truncation (fraction of edge)")
    min_gap_nm: float = Field(2.0, ge=0.0, le=1000.0, description="minimum gap between particles when placed")

    @model_validator(mode="after")
    def _fractions_positive(self) -> "ParticlesConfig":
        if not self.shapes or any(v < 0 for v in self.shapes.values()) or sum(self.shapes.values()) <= 0:
            raise ValueError(f"shapes = {self.shapes}: expected non-negative fractions with a positive sum")
        if self.density_per_um2 is not None and "count" in self.model_fields_set:
            raise ValueError(f"particles.count = {self.count} and particles.density_per_um2 = {self.density_per_um2:g} "
                             "are both set; "
                             "give one (the number in view, or particles per um^2 of field)")
        return self

    @model_serializer(mode="wrap")
    def _one_count_key(self, handler: Any) -> dict[str, Any]:
        # The dump keeps only the key in use, so that it validates again (and a count preset's
        # config.json keeps its bytes).
        data = handler(self)
        if data.get("density_per_um2", 0) is None:
            del data["density_per_um2"]
        elif "density_per_um2" in data:
            data.pop("count", None)
        return data

    def count_in(self, height_px: int, width_px: int, pixel_size_nm: float) -> int:
        """Particles in view at the start in a field of ``height_px`` x ``width_px`` pixels of
        ``pixel_size_nm``: ``count``, or ``round(density_per_um2 * area / um^2)`` (at least 1)."""
        if self.density_per_um2 is None:
            return self.count
        area_um2 = height_px * width_px * (pixel_size_nm * 1e-3) ** 2
        return max(1, int(round(self.density_per_um2 * area_um2)))

    def count_setting(self) -> str:
        """The key that sets the number of particles, as the user wrote it (for error messages)."""
        if self.density_per_um2 is None:
            return f"particles.count = {self.count}"
        return f"particles.density_per_um2 = {self.density_per_um2:g}"

    def count_key(self) -> str:
        """``particles.count`` or ``particles.density_per_um2``: the key to lower when particles do not fit."""
        return "particles.count" if self.density_per_um2 is None else "particles.density_per_um2"


class DynamicsConfig(_Strict):
    """Motion and interactions of the particles (simulator.brownian, simulator.hydrodynamics,
    simulator.dynamics).

    Bulk diffusion coefficients come from Stokes-Einstein / Tirado-Garcia de la Torre at
    ``temperature_K`` in a liquid of ``viscosity_Pa_s`` (water at 20 C: 1.002 mPa s, CRC Handbook
    of Chemistry and Physics, 97th ed., 6-245), multiplied by ``slowdown``: LPEM particles move
    >= 10^3 times slower than in bulk (Verch et al., Langmuir 2015) and often much slower near
    the window (Woehl & Prozorov, J. Phys. Chem. C 2015).  The default 2e-6 gives a 20 nm Au
    sphere ~50 nm^2/s: a few nm per 0.1 s frame, visible motion that stays in the field.

    Models (simulator.dynamics.motion): ``static`` (a frozen scene: no motion, interactions or
    reactions); ``brownian``; ``fbm`` with Hurst exponent ``hurst``
    (MSD = 4 D tau (t/tau)^(2H), tau the frame interval); ``ctrw``, pinning for power-law waits
    of tail exponent ``ctrw_alpha`` (>= ``ctrw_min_wait_s``) between exponential mobile spells of
    mean ``ctrw_mobile_s``.  LPEM motion is subdiffusive: fBm-like at low dose rate and CTRW-like
    at high dose rate (Jamali et al., PNAS 2021); the defaults H = 0.35 and alpha = 0.6, and the
    CTRW's 0.05 s shortest wait and 0.2 s mobile spell, are illustrative subdiffusive values of that
    kind, not fits.  ``substeps`` = 10 and ``blur_steps`` = 3 are numerical choices (steps per
    frame interval; states averaged over an exposure), not physics.

    Interactions (simulator.dynamics.interactions; a static scene ignores them): DLVO between interaction sites plus a hard
    core and optional depletion.  Defaults: 1 mM 1:1 electrolyte (Debye length 9.6 nm), surface
    potential -30 mV (zeta potential of citrate-capped Au, -30 to -50 mV, Park & Shumaker-Parry,
    JACS 136, 1907 (2014)), Hamaker constant of Au across water 1e-19 J (0.9-3e-19 J, Parsegian &
    Weiss, J. Colloid Interface Sci. 81, 285 (1981)), hard core 1 nm (ligand shell); the 1 mM
    ionic strength and the 2 nm depletant radius (when a depletant is set) are illustrative.  The
    integration sub-step keeps the fastest particle's rms random step (per axis, of the model's
    own increments: fbm's grow as dt^H; simulator.simulate.Simulation._limit_step) below
    ``max_step_nm`` = 0.5 nm, half the 1 nm hard core (at the default 1 mM the Debye length is
    9.6 nm; a salt above ~0.4 M makes it shorter than 0.5 nm, and then lower max_step_nm): Ermak &
    McCammon's Brownian dynamics (J. Chem. Phys. 69, 1352 (1978)) assumes the force nearly
    constant over a step; 0.5 nm is the project's choice under that rule, not a fit.  The rule
    bounds the random step only, not the drift ``D F dt / kT``: particles held at contact by a
    strong attraction drift further than that per step and most of their moves are rejected by the
    hard core.  Measured on assembly-cubes (seeds 1-4, 20 frames): drift at contact median ~0.95 nm,
    96 % of bound particles' moves rejected, so bound cubes barely move (mean squared displacement
    per frame 1.6-2.6 nm^2, against 28-30 nm^2 at max_step_nm = 0.05 and ~70 nm^2 free); free
    particles, and so the chaining rate, are unaffected.  A known limitation (lower max_step_nm
    for the dynamics of bound clusters, at ~20-100 times the steps).

    Boundary (simulator.simulate.simulation_box, simulator.dynamics.reactions.Lineage):
    ``open`` (default) simulates a box larger than the field of view by ``boundary_margin_nm``
    on each side (0 = two particle lengths, at most half the field), filled at the density of the particles in the
    field, with reflecting walls at the box edge; particles leave and enter the field as in an
    experiment, where the field (~0.1-1 um) is a small part of a ~50 um window full of particles
    (Ross, Liquid Cell Electron Microscopy, 2016, ch. 1).  The labels and tables show only what is in
    view; a track ends when its particle leaves the field and a particle that enters (or comes
    back) starts a new track (the Cell Tracking Challenge convention for objects entering the
    field).  ``reflect``: walls at the field edges, every particle stays in view (the previous
    rule).  ``contact_nm``: outline distance of two particles in contact (chain ids of
    particles.csv, simulator.dynamics.chains).
    """

    model: Literal["static", "brownian", "fbm", "ctrw"] = Field("static", description="motion model")
    interactions: bool = Field(False, description="pair interactions between particles (moving models only)")
    temperature_K: float = Field(293.15, gt=0.0, le=1000.0, description="temperature (K)")
    viscosity_Pa_s: float = Field(1.002e-3, gt=0.0, le=10.0, description="liquid viscosity (Pa s)")
    slowdown: float = Field(2e-6, gt=0.0, le=1.0, description="LPEM slowdown of diffusion relative to bulk")
    substeps: int = Field(10, ge=1, le=10_000, description="integration steps per frame interval")
    blur_steps: int = Field(3, ge=1, le=101, description="states averaged over the exposure (motion blur; odd)")
    hurst: float = Field(0.35, gt=0.0, lt=1.0, description="Hurst exponent of fbm (0.5 = Brownian)")
    ctrw_alpha: float = Field(0.6, gt=0.0, le=2.0, description="tail exponent of CTRW pinning times")
    ctrw_min_wait_s: float = Field(0.05, gt=0.0, le=1e4, description="shortest CTRW pinning time (s)")
    ctrw_mobile_s: float = Field(0.2, gt=0.0, le=1e4, description="mean CTRW mobile spell (s)")
    flow_nm_s: tuple[float, float] = Field((0.0, 0.0), description="uniform flow velocity (vx, vy) in nm/s")
    ionic_strength_M: float = Field(1e-3, gt=0.0, le=10.0, description="1:1 electrolyte ionic strength (mol/L)")
    surface_potential_mV: float = Field(-30.0, ge=-500.0, le=500.0, description="particle surface potential (mV)")
    hamaker_J: float = Field(1e-19, ge=0.0, le=1e-17, description="Hamaker constant particle-liquid-particle (J)")
    hard_core_nm: float = Field(1.0, ge=0.0, le=100.0, description="closest allowed surface separation (nm)")
    depletant_fraction: float = Field(0.0, ge=0.0, le=0.5, description="depletant volume fraction (0 = none)")
    depletant_radius_nm: float = Field(2.0, gt=0.0, le=1000.0, description="depletant radius (nm)")
    max_step_nm: float = Field(0.5, gt=0.0, le=100.0,
                               description="largest rms random step with interactions (sets the sub-step)")
    boundary: Literal["open", "reflect"] = Field(
        "open", description="open: particles leave and enter the field (box wider by a margin); reflect: walls at the field edge")
    boundary_margin_nm: float = Field(0.0, ge=0.0, le=100_000.0,
                                      description="margin of the simulation box beyond the field (nm); 0 = two particle lengths")
    contact_nm: float = Field(2.0, ge=0.0, le=100.0,
                              description="outline distance at which particles are in contact (chains, nm)")

    @model_validator(mode="after")
    def _checks(self) -> "DynamicsConfig":
        if self.blur_steps % 2 == 0:
            raise ValueError(f"blur_steps ({self.blur_steps}) must be odd, so that one state is at mid-exposure")
        return self


class ReactionsConfig(_Strict):
    """Etching of the particles (simulator.dynamics.reactions); off while ``etch_rate_nm_s`` = 0.

    Normal speed ``v = k + |k| (g kappa l + a cos^2 phi)`` with ``k = etch_rate_nm_s *
    sqrt(dose_rate / dose_rate_ref)`` (radiolytic oxidants ~ dose rate^1/2, Schneider et al.,
    J. Phys. Chem. C 2014).  Default rate when on: Au nanorods etched in LPEM lose ~0.1-1 nm/s
    (Ye et al., Science 354, 874 (2016) report minutes-long etching of ~40 nm rods).  A particle
    smaller than ``critical_radius_nm`` (area < pi r_c^2) dissolves (a ``dissolve`` event).
    Nucleation (``nucleate``) is a Poisson process; with ``merge``, particles closer than
    ``merge_gap_nm`` coalesce into one whose parents are both (``merge``), spheres into a sphere of
    the summed volume, other shapes into the convex hull of the pair with the mean thickness that
    conserves volume.  ``dose_rate_ref`` is the imaging default (100 e/A^2/s); the curvature gain,
    capillary length, anisotropy, critical and nucleus radii and merge gap are illustrative values
    that give the qualitative behaviour of the cited studies (simulator.dynamics.reactions), not fits.
    """

    etch_rate_nm_s: float = Field(0.0, ge=-100.0, le=100.0, description="base etch rate at dose_rate_ref (nm/s; < 0 grows)")
    dose_rate_ref: float = Field(100.0, gt=0.0, le=1e7, description="dose rate at which etch_rate_nm_s holds (e/A^2/s)")
    curvature_gain: float = Field(1.0, ge=0.0, le=100.0, description="Gibbs-Thomson gain g of the curvature term")
    capillary_nm: float = Field(2.0, ge=0.0, le=1000.0, description="capillary length l (nm)")
    anisotropy: float = Field(0.5, ge=0.0, le=10.0, description="extra speed of faces normal to the long axis")
    critical_radius_nm: float = Field(1.5, ge=0.0, le=1000.0, description="radius below which a particle dissolves (nm)")
    nucleation_rate_per_um2_s: float = Field(0.0, ge=0.0, le=1e6, description="nuclei per um^2 per s (Poisson)")
    nucleus_radius_nm: float = Field(1.5, gt=0.0, le=1000.0, description="radius of a new nucleus (nm)")
    merge: bool = Field(False, description="particles whose outlines touch coalesce (volume conserved)")
    merge_gap_nm: float = Field(1.5, ge=0.0, le=100.0, description="outline gap at which particles coalesce (nm)")


class SimulationConfig(_Strict):
    """The whole configuration of one simulated dataset."""

    preset: str = Field("custom", description="name of the preset this configuration came from")
    description: str = Field("", description="one line saying what the preset simulates")
    video: VideoConfig = VideoConfig()
    imaging: ImagingConfig = ImagingConfig()
    detector: DetectorConfig = DetectorConfig()
    liquid: LiquidConfig = LiquidConfig()
    particles: ParticlesConfig = ParticlesConfig()
    dynamics: DynamicsConfig = DynamicsConfig()
    reactions: ReactionsConfig = ReactionsConfig()

    def particles_in_view(self) -> int:
        """Particles in view at the start (:meth:`ParticlesConfig.count_in` for this video's field)."""
        v = self.video
        return self.particles.count_in(v.height_px, v.width_px, self.imaging.pixel_size_nm)

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, so equal configs give equal bytes."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, indent=2)


# --------------------------------------------------------------------------- presets


def _preset_files() -> dict[str, Any]:
    folder = resources.files("simulator") / "presets"
    return {p.name[: -len(".toml")]: p for p in folder.iterdir() if p.name.endswith(".toml")}


def list_presets() -> dict[str, str]:
    """Names of the shipped presets with their one-line descriptions, sorted by name."""
    out = {}
    for name, path in sorted(_preset_files().items()):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        out[name] = str(data.get("description", ""))
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: cannot read it as UTF-8 text ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None


def _parse_value(text: str) -> Any:
    """A command-line value: a TOML value if it parses as one, else the plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


#: Keys of which one replaces the other when given as an override.
_EXCLUSIVE = {"particles.count": "density_per_um2", "particles.density_per_um2": "count"}


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides to a nested dict (a new dict is returned).

    Values are parsed as TOML (``3``, ``2.5``, ``true``, ``"Au"``, ``[1, 2]``) and fall back to
    a plain string.  Whether the key exists is checked by validation afterwards.  The exclusive
    keys ``particles.count`` and ``particles.density_per_um2``: an override of one removes the
    other from ``data`` (a preset's density gives way to ``--set particles.count=60``); overrides
    that set both are left for validation to refuse.
    """
    out = json.loads(json.dumps(data))
    for item in overrides:
        key = item.partition("=")[0].strip()
        if key in _EXCLUSIVE and isinstance(out.get("particles"), dict):
            out["particles"].pop(_EXCLUSIVE[key], None)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. particles.count=30")
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part} is a value, not a section")
            node = child
        node[parts[-1]] = _parse_value(raw.strip())
    return out


def _format_validation_error(exc: ValidationError, data: dict[str, Any], origin: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        section = err["loc"][:-1]
        model: Any = SimulationConfig
        for part in section:
            field = model.model_fields.get(str(part))
            model = field.annotation if field is not None else None
            if model is None:
                break
        allowed = ", ".join(sorted(model.model_fields)) if model is not None else "?"
        return f"{origin}: unknown key {loc!r}; allowed keys here: {allowed}"
    value = err.get("input")
    if isinstance(value, dict):
        return f"{origin}: {loc}: {msg}"
    shown = json.dumps(value) if not isinstance(value, str) else repr(value)
    where = f"{loc} = {shown}" if loc else "config"
    return f"{origin}: {where}: {msg}"


def validate_config(data: dict[str, Any], *, origin: str = "config") -> SimulationConfig:
    """Validate a nested dict into a :class:`SimulationConfig` (one-line ConfigError if invalid)."""
    try:
        return SimulationConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, data, origin)) from None


def load_config(
    preset: str | None = None,
    *,
    file: str | Path | None = None,
    overrides: list[str] | None = None,
) -> SimulationConfig:
    """Load a preset (or a TOML file), apply overrides and validate.

    Examples
    --------
    >>> cfg = load_config("brownian-prisms", overrides=["particles.count=3"])
    >>> cfg.particles.count
    3
    """
    if preset is not None and file is not None:
        raise ConfigError("give either a preset or a config file, not both")
    if file is not None:
        data = _read_toml(Path(file))
        origin = str(file)
        data.setdefault("preset", Path(file).stem)
    else:
        name = preset or "brownian-prisms"
        files = _preset_files()
        if name not in files:
            raise ConfigError(
                f"preset {name!r} does not exist; valid presets: {', '.join(sorted(files))}"
            )
        data = tomllib.loads(files[name].read_text(encoding="utf-8"))
        data["preset"] = name
        origin = f"preset {name}"
    data = apply_overrides(data, list(overrides or []))
    return validate_config(data, origin=origin)


def config_schema() -> dict[str, Any]:
    """JSON schema of :class:`SimulationConfig` (what ``nanoaq schema`` prints)."""
    return SimulationConfig.model_json_schema()
