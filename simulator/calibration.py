"""Calibrating the simulator's detector and background against real frames.

:func:`calibrate` measures, from real frames (Y, X) or a stack (T, Y, X):

- background regions, found automatically (:func:`simulator.noise_spectrum.background_mask`)
  or given as rectangles;
- the noise power spectrum (NPS) of many detrended, Hann-windowed background patches;
- the MTF, the noise gain, the read noise and the dark offset (the model and the estimator are in
  :mod:`simulator.noise_spectrum`): by photon transfer across frames whose background levels
  differ by at least ``_MIN_LEVEL_SPREAD``, else (one frame, one exposure level, or a spectrum that
  does not grow with the level) from the mean NPS with the white floor set to the given read
  noise (0 if none: the noise is then all attributed to shot noise through the MTF, an upper
  bound of the MTF at high frequency) — :attr:`Calibration.photon_transfer_note` and a logged
  warning say which, and why;
- the background intensity histogram, the large-scale background texture (relative RMS and
  correlation length), and the particles' contrast and size range from a rough segmentation.

:func:`calibrated_config` turns a :class:`Calibration` into simulator settings: an integrating
detector with the measured MTF (:func:`calibrated_mtf`), noise gain, read noise and dark offset,
the dose rate that gives the measured background level, and the liquid thickness variation that
gives the measured texture; frames are clipped at the real frames' saturation level.  The
simulator applies it when ``detector.calibration`` names a calib.json.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import noise_spectrum as ns
from .errors import ConfigError, DatasetError, UserError
from .outfile import check_out_file, write_atomic

if TYPE_CHECKING:
    from .config import SimulationConfig

__all__ = [
    "Calibration",
    "PhotonTransfer",
    "Texture",
    "ParticleStats",
    "read_frames",
    "calibrate",
    "check_calibration_out",
    "save_calibration",
    "load_calibration",
    "calibrated_config",
    "calibrated_mtf",
]

log = logging.getLogger(__name__)

CALIBRATION_SCHEMA_VERSION = 1
#: Relative spread (max − min) / mean of the frames' background levels below which a slope of
#: NPS against the level is not attempted: with ~5 % NPS noise per frame the slope would be
#: undetermined.
_MIN_LEVEL_SPREAD = 0.1
_MIN_PATCHES = 4
#: Photon transfer is accepted only if the NPS grows with the level significantly (t statistic of
#: the slope above this: ~0.1 % chance for noise alone) and the fitted dark offset is not
#: implausibly negative (below −this × the mean level: the levels would then be far from
#: proportional to the dose).
_MIN_SLOPE_T = 3.0
_MAX_NEGATIVE_OFFSET = 0.25


class PhotonTransfer(BaseModel):
    """Result of the photon-transfer fit (counts of the input frames)."""

    model_config = ConfigDict(extra="forbid")
    levels: list[float] = Field(description="mean background level of each frame (counts)")
    noise_gain: float = Field(description="slope of NPS(f→0) against the mean: g·(1+s²) (counts per electron)")
    read_noise: float = Field(description="white noise floor, counts RMS")
    dark_offset: float = Field(description="level at zero dose (counts)")
    dark_offset_fitted: bool = Field(description="true if fitted from the spectra, false if given")


class Texture(BaseModel):
    """Large-scale background texture (slow variation of the background level)."""

    model_config = ConfigDict(extra="forbid")
    rms_relative: float = Field(description="RMS of the background level relative to its mean")
    correlation_length_px: float = Field(description="σ of the Gaussian filter of white noise with the same correlation (px)")


class ParticleStats(BaseModel):
    """Rough segmentation: threshold against the background noise, watershed split of touching particles."""

    model_config = ConfigDict(extra="forbid")
    count_per_frame: float
    area_fraction: float
    contrast: float = Field(description="1 − median particle level / median background level (dark particles > 0)")
    diameter_px: tuple[float, float, float] = Field(description="equivalent diameter, 5th/50th/95th percentiles (px)")


class Calibration(BaseModel):
    """What :func:`calibrate` measured (``calib.json``); counts are those of the input frames."""

    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = CALIBRATION_SCHEMA_VERSION
    sources: list[str]
    n_frames: int
    frame_shape: tuple[int, int]
    pixel_size_nm: float | None = None
    dtype: str
    dark_particles: bool = True
    saturation_level: float | None = Field(None, description="level at which the frames clip (None if they do not)")
    patch_px: int
    n_patches: int
    background_fraction: float
    background_mean: float
    background_std: float
    frequency: list[float] = Field(description="radial frequency bins (cycles/px), 0 to Nyquist")
    nps: list[float] = Field(description="mean background NPS at `frequency` (counts²; white noise σ² → σ²)")
    mtf: list[float] = Field(description="MTF at `frequency`, MTF(0) = 1")
    mtf_method: Literal["photon-transfer", "single-level"]
    noise_gain: float = Field(description="g·(1+s²): NPS(0) per count above the dark offset")
    read_noise: float = Field(description="white floor of the NPS, counts RMS")
    dark_offset: float
    photon_transfer: PhotonTransfer | None = None
    photon_transfer_note: str = Field(description="how gain and read noise were obtained, or why photon transfer was not possible")
    histogram_edges: list[float]
    histogram_counts: list[int]
    texture: Texture
    particles: ParticleStats
    warnings: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- reading


def read_frames(paths: list[str | Path]) -> tuple[np.ndarray, list[str], float | None, np.dtype]:
    """Frames (T, Y, X) float64 from TIFF files, stacks and folders of TIFFs, in the order given
    (a folder's files sorted by name), with the file names, the pixel size (nm) if declared, and
    the storage dtype of the first file.

    Raises
    ------
    DatasetError
        A missing or unreadable file, a folder without TIFFs, or frames of different shapes.
    """
    from .tiffio import read_tiff, tiff_info

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in (".tif", ".tiff"))
            if not found:
                raise DatasetError(f"{p}: folder holds no .tif/.tiff frames")
            files += found
        else:
            files.append(p)
    if not files:
        raise DatasetError("no frames given: expected TIFF files, stacks or folders")
    frames, pixel = [], None
    for f in files:
        if not f.exists():
            raise DatasetError(f"{f}: no such file")
        a = read_tiff(f)
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3:
            raise DatasetError(f"{f}: shape {a.shape}; expected a grey-level frame (Y, X) or stack (T, Y, X)")
        if frames and a.shape[1:] != frames[0].shape[1:]:
            raise DatasetError(f"{f}: frames of {a.shape[1]}x{a.shape[2]} px, but {files[0].name} has "
                               f"{frames[0].shape[1]}x{frames[0].shape[2]}; give frames of one shape")
        frames.append(a)
        pixel = pixel or tiff_info(f)[2].get("pixel_size_nm")
    dtype = frames[0].dtype
    return np.concatenate(frames).astype(np.float64), [str(f) for f in files], pixel, dtype


# --------------------------------------------------------------------------- measuring


def _roi_mask(shape: tuple[int, int], rois: list[tuple[int, int, int, int]]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for x, y, w, h in rois:
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > shape[1] or y + h > shape[0]:
            raise UserError(f"--roi {x},{y},{w},{h}: outside the {shape[1]}x{shape[0]} frame; "
                            "expected X,Y,W,H inside it")
        mask[y:y + h, x:x + w] = True
    return mask


def _particle_stats(frames: np.ndarray, masks: list[np.ndarray], *, dark: bool) -> ParticleStats:
    """Rough segmentation of each frame: threshold (noise_spectrum.particle_mask), then a
    distance-transform watershed to split touching particles; equivalent diameters."""
    from scipy import ndimage
    from skimage.feature import peak_local_max
    from skimage.measure import regionprops
    from skimage.segmentation import watershed

    diam, counts, fracs, contrast = [], [], [], []
    for frame, bg in zip(frames, masks):
        pm = ndimage.binary_fill_holes(ns.particle_mask(frame, dark_particles=dark))
        fracs.append(float(pm.mean()))
        if not pm.any():
            counts.append(0)
            continue
        dist = ndimage.distance_transform_edt(pm)
        peaks = peak_local_max(dist, min_distance=5, labels=ndimage.label(pm)[0], exclude_border=False)
        markers = np.zeros(pm.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        labels = watershed(-dist, markers, mask=pm)
        props = [r for r in regionprops(labels) if r.area >= 20]
        counts.append(len(props))
        diam += [float(r.equivalent_diameter_area) for r in props]
        core = ndimage.binary_erosion(pm, iterations=2)
        if core.any() and bg.any():
            contrast.append(1.0 - float(np.median(frame[core])) / float(np.median(frame[bg])))
    d = np.percentile(diam, [5, 50, 95]) if diam else np.zeros(3)
    return ParticleStats(count_per_frame=float(np.mean(counts)), area_fraction=float(np.mean(fracs)),
                         contrast=float(np.mean(contrast)) if contrast else 0.0,
                         diameter_px=(float(d[0]), float(d[1]), float(d[2])))


def calibrate(
    frames: np.ndarray,
    *,
    sources: list[str] | None = None,
    pixel_size_nm: float | None = None,
    dtype: str | np.dtype = "uint16",
    rois: list[tuple[int, int, int, int]] | None = None,
    dark_particles: bool = True,
    patch_px: int = 64,
    read_noise: float | None = None,
    dark_offset: float | None = None,
) -> Calibration:
    """Measure the detector and background of real ``frames`` (T, Y, X) or (Y, X).

    Parameters
    ----------
    frames : recorded counts
    sources : names of the files they came from (recorded in the result)
    pixel_size_nm : pixel size, if known (recorded)
    dtype : the frames' storage type; a frame clipping at its maximum sets ``saturation_level``
    rois : background rectangles ``(x, y, w, h)`` in px; default: found automatically
    dark_particles : bright-field (particles darker than the liquid) or not
    patch_px : side of the square NPS patches (px, even); frequency resolution 1/patch_px
    read_noise : known read noise (counts RMS) for the single-level estimate
    dark_offset : known level at zero dose (counts)

    Raises
    ------
    UserError
        Too few background patches (frames too small, no background, or a wrong ``--roi``).
    """
    frames = np.asarray(frames, np.float64)
    if frames.ndim == 2:
        frames = frames[None]
    if patch_px < 16 or patch_px % 2:
        raise UserError(f"--patch {patch_px}: expected an even number of pixels >= 16")
    T, H, W = frames.shape
    warnings: list[str] = []

    def warn(msg: str) -> None:
        log.warning(msg)
        warnings.append(msg)

    if rois:
        masks = [_roi_mask((H, W), rois)] * T
    else:
        masks = [ns.background_mask(f, dark_particles=dark_particles) for f in frames]
    spectra, levels, n_patches, values = [], [], 0, []
    covers = [np.zeros((H, W), bool) for _ in range(T)]
    for t, (f, m) in enumerate(zip(frames, masks)):
        patches = ns.background_patches(f, m, patch=patch_px, coverage=covers[t])
        if len(patches) < _MIN_PATCHES:
            warn(f"frame {t}: only {len(patches)} background patches of {patch_px} px; left out of the NPS")
            continue
        spectra.append(ns.radial_profile(ns.patch_nps(patches)))
        levels.append(float(f[m].mean()))
        values.append(f[m])
        n_patches += len(patches)
    if not spectra:
        raise UserError(
            f"no background found: no frame has {_MIN_PATCHES} patches of {patch_px}x{patch_px} px free of "
            f"particles (frames {W}x{H} px); give background regions with --roi X,Y,W,H or a smaller --patch")
    freq = ns.radial_frequencies(patch_px)
    spectra_a, levels_a = np.array(spectra), np.array(levels)
    nps_mean = spectra_a.mean(axis=0)
    bg = np.concatenate(values)

    # Gain, read noise, offset and MTF: photon transfer where the levels allow it.
    pt = None
    spread = (levels_a.max() - levels_a.min()) / levels_a.mean() if len(levels_a) > 1 else 0.0
    if len(levels_a) < 2:
        note = "photon transfer impossible: one frame (one exposure level)"
    elif len(levels_a) < 3:
        note = "photon transfer impossible: two frames leave no degree of freedom to test the fit (need 3 or more)"
    elif spread < _MIN_LEVEL_SPREAD:
        note = (f"photon transfer impossible: the frames' background levels differ by {100 * spread:.1f}% "
                f"(< {100 * _MIN_LEVEL_SPREAD:.0f}%): one exposure level")
    else:
        fit = ns.photon_transfer_spectra(levels_a, spectra_a, freq, dark_offset=dark_offset)
        g, r2, off, t = fit["noise_gain"], fit["read_noise_squared"], fit["dark_offset"], fit["slope_t"]
        if (g <= 0 or t < _MIN_SLOPE_T or r2 < -0.05 * float(nps_mean[-1]) or off >= levels_a.min()
                or off < -_MAX_NEGATIVE_OFFSET * levels_a.mean()):
            note = (f"photon transfer failed: the NPS does not grow with the background level as shot noise "
                    f"does (gain {g:.3g}, t = {t:.2g}, read noise² {r2:.3g}, offset {off:.4g}); the frames were "
                    "probably rescaled one by one, or are not shot-noise limited")
        else:
            note = (f"photon transfer over {len(levels_a)} frames with levels {levels_a.min():.4g}-"
                    f"{levels_a.max():.4g}")
            pt = PhotonTransfer(levels=levels, noise_gain=g, read_noise=float(fit["read_noise"]),
                                dark_offset=off, dark_offset_fitted=dark_offset is None)
    if pt is not None:
        mtf = np.asarray(fit["mtf"])
        gain, rn, off, method = pt.noise_gain, pt.read_noise, pt.dark_offset, "photon-transfer"
    else:
        warn(note)
        rn = float(read_noise) if read_noise is not None else 0.0
        off = float(dark_offset) if dark_offset is not None else 0.0
        if read_noise is None:
            warn("read noise unknown: white floor set to 0, so the MTF at high frequency is an upper bound "
                 "(give --read-noise to subtract it)")
        if dark_offset is None:
            warn("dark offset unknown: taken as 0 counts (give --dark-offset)")
        shot = ns.repair_lowest_bin(freq, nps_mean - rn**2)
        a0 = float(shot[0])
        if a0 <= 0:
            raise UserError(f"read noise {rn:g} counts RMS is above the measured noise: the NPS at low frequency "
                            f"is {nps_mean[1]:.4g} counts²")
        mtf = np.sqrt(np.clip(shot / a0, 0.0, None))
        mtf[0] = 1.0
        gain = a0 / max(float(levels_a.mean()) - off, 1e-9)
        method = "single-level"

    dt = np.dtype(dtype)
    sat = None
    if dt.kind in "ui":
        top = float(np.iinfo(dt).max)
        if (frames >= top).mean() > 1e-3:
            sat = top
            warn(f"{100 * (frames >= top).mean():.1f}% of pixels are at the {dt} maximum {top:g}: the frames clip "
                 "there; simulated frames will clip there too")
    hist, edges = np.histogram(bg, bins=min(256, max(16, int(np.sqrt(bg.size) // 4))))
    # The noise power at zero frequency that the texture's smoothing lets through: bin 1 of the
    # NPS reads ~10 % low (the patches' plane removal, leaked by the Hann window), so the white
    # floor is set aside and the shot part extrapolated to f = 0 as for the MTF.
    nps0 = float(ns.repair_lowest_bin(freq, nps_mean - rn**2)[0]) + rn**2
    tex = [ns.texture_statistics(f, c, noise_nps0=nps0) for f, c in zip(frames, covers) if c.any()]
    texture = Texture(rms_relative=float(np.mean([t[0] for t in tex])),
                      correlation_length_px=float(np.mean([t[1] for t in tex])))
    particles = _particle_stats(frames, masks, dark=dark_particles)
    return Calibration(
        sources=list(sources or []), n_frames=T, frame_shape=(H, W), pixel_size_nm=pixel_size_nm, dtype=str(dt),
        dark_particles=dark_particles, saturation_level=sat, patch_px=patch_px, n_patches=n_patches,
        background_fraction=float(np.mean([m.mean() for m in masks])), background_mean=float(bg.mean()),
        background_std=float(bg.std()), frequency=freq.tolist(), nps=nps_mean.tolist(), mtf=mtf.tolist(),
        mtf_method=method, noise_gain=float(gain), read_noise=float(rn), dark_offset=float(off),
        photon_transfer=pt, photon_transfer_note=note, histogram_edges=edges.tolist(),
        histogram_counts=hist.astype(int).tolist(), texture=texture, particles=particles, warnings=warnings,
    )


# --------------------------------------------------------------------------- files


def check_calibration_out(path: str | Path) -> Path:
    """``path`` as a Path, or a one-line UserError when it cannot take a calibration (call it
    before calibrating)."""
    return check_out_file(path, expected="a JSON file", example="calib.json")


def save_calibration(calib: Calibration, path: str | Path) -> Path:
    """Write ``calib`` as JSON (atomically: a temporary file renamed into place)."""
    return write_atomic(check_calibration_out(path), calib.model_dump_json(indent=2))


def load_calibration(path: str | Path) -> Calibration:
    """Read a calib.json written by :func:`save_calibration` (one-line ConfigError if it is not one)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"detector.calibration = {str(path)!r}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"detector.calibration = {str(path)!r}: not a JSON file ({exc})") from None
    try:
        return Calibration.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ConfigError(f"detector.calibration = {str(path)!r}: not a calibration file "
                          f"(schema version {CALIBRATION_SCHEMA_VERSION}): {loc}: {err['msg']}") from None


# --------------------------------------------------------------------------- simulating


def calibrated_config(config: SimulationConfig, calib: Calibration) -> SimulationConfig:
    """``config`` with the detector, dose and background texture that reproduce ``calib``.

    - detector: integrating; ``conversion_gain = noise_gain / (1 + gain_spread²)`` (the deposit
      spread of the config is kept: noise alone cannot separate gain and spread, only their
      product ``g·(1+s²)`` matters for the NPS), ``read_noise``, ``dark_offset`` (≥ 0);
    - dose rate: the background then receives ``N = (mean − offset) / conversion_gain``
      electrons per pixel: ``N = dose · exposure · (10·pixel)² · exp(−2w/λ_SiN − L/λ_water)``
      at the configured liquid ``L`` and windows ``w`` (Beer–Lambert, :mod:`simulator.optics`);
    - liquid: thickness variation ``rms_relative · λ_water`` (nm; 0 when no texture was
      measured) with correlation length ``correlation_length_px · pixel_size_nm`` (a relative
      change of transmission δI/I = −δL/λ_water).
    """
    from .materials import get_material

    det, im, lq = config.detector, config.imaging, config.liquid
    if im.mode != "bright-field":
        # The dose and texture mapping below is bright-field Beer-Lambert transmission; HAADF
        # frames have another background law (simulator.optics), not modelled here.
        raise ConfigError(f"detector.calibration: calibrated rendering supports imaging.mode = 'bright-field' only, "
                          f"got {im.mode!r}")
    gain = calib.noise_gain / (1.0 + det.gain_spread**2)
    electrons = max(calib.background_mean - max(calib.dark_offset, 0.0), 1e-6) / gain
    water, sin = get_material("water"), get_material("SiN")
    transmission = np.exp(-2 * lq.window_thickness_nm / sin.mean_free_path_nm - lq.thickness_nm / water.mean_free_path_nm)
    dose = electrons / (im.exposure_s * (10.0 * im.pixel_size_nm) ** 2 * transmission)
    data = config.model_dump(mode="json")
    data["detector"].update(model="integrating", conversion_gain=float(gain), read_noise=float(calib.read_noise),
                            dark_offset=float(max(calib.dark_offset, 0.0)))
    data["imaging"]["dose_rate_e_per_A2_s"] = float(dose)
    data["liquid"]["variation_nm"] = float(calib.texture.rms_relative * water.mean_free_path_nm)
    if calib.texture.correlation_length_px > 0:
        data["liquid"]["variation_length_nm"] = float(calib.texture.correlation_length_px * im.pixel_size_nm)
    from .config import validate_config

    return validate_config(data, origin=f"detector.calibration = {det.calibration!r}")


def calibrated_mtf(calib: Calibration, shape: tuple[int, int]) -> np.ndarray:
    """The measured radial MTF on the (unshifted) ``fftfreq`` grid of ``shape``; MTF(0) = 1,
    constant beyond the last measured frequency (Nyquist, at the grid's corners)."""
    qy = np.fft.fftfreq(shape[0])[:, None]
    qx = np.fft.fftfreq(shape[1])[None, :]
    return np.interp(np.hypot(qy, qx), np.asarray(calib.frequency), np.asarray(calib.mtf))
