"""Calibration against known answers: frames simulated with a known MTF, gain, read noise and
offset must give them back (simulator.calibration, simulator.noise_spectrum)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from benchmark.cli import main
from simulator import noise_spectrum as ns
from simulator.calibration import (Calibration, calibrate, calibrated_mtf, load_calibration, read_frames,
                                   save_calibration)
from simulator.config import load_config
from simulator.detector import parametric_mtf
from simulator.errors import ConfigError, UserError
from simulator.simulate import simulate_video

GAIN, SPREAD, READ, OFFSET, Q0, FLOOR = 8.0, 0.5, 10.0, 100.0, 0.2, 0.1
SIZE, PATCH = 512, 64


def _flat(dose: float, frames: int, seed: int, **extra: object) -> np.ndarray:
    """Flat fields (no particles, no texture) from an integrating detector with known parameters."""
    sets = {"particles.count": 0, "video.frames": frames, "video.height_px": SIZE, "video.width_px": SIZE,
            "imaging.dose_rate_e_per_A2_s": dose, "detector.model": '"integrating"',
            "detector.conversion_gain": GAIN, "detector.gain_spread": SPREAD, "detector.read_noise": READ,
            "detector.dark_offset": OFFSET, "detector.mtf_q0": Q0, "detector.mtf_floor": FLOOR,
            "detector.gain_nonuniformity": 0, "detector.hot_pixel_fraction": 0,
            "detector.dead_pixel_fraction": 0, "liquid.variation_nm": 0, "liquid.bulge_nm": 0}
    sets.update(extra)
    cfg = load_config("brownian-prisms", overrides=[f"{k}={v}" for k, v in sets.items()])
    return simulate_video(cfg, seed=seed).frames.astype(float)


@pytest.fixture(scope="module")
def stack() -> np.ndarray:
    """Flat fields at four dose levels (~1-10 electrons per pixel), three frames each."""
    return np.concatenate([_flat(d, 3, seed=i) for i, d in enumerate([2.0, 5.0, 10.0, 20.0])])


def _true_mtf_bands() -> np.ndarray:
    """The detector's MTF averaged (as MTF²) in bands of 1/32 cycles/px up to Nyquist/2."""
    true2 = ns.radial_profile(parametric_mtf((PATCH, PATCH), q0=Q0, floor=FLOOR) ** 2)
    return np.sqrt(ns.band_means(ns.radial_frequencies(PATCH), true2, np.arange(9) / 32))


def _mtf_bands(calib: Calibration) -> np.ndarray:
    m2 = np.asarray(calib.mtf) ** 2
    return np.sqrt(ns.band_means(np.asarray(calib.frequency), m2, np.arange(9) / 32))


def test_photon_transfer_recovers_mtf_gain_read_noise_and_offset(stack: np.ndarray) -> None:
    calib = calibrate(stack, patch_px=PATCH)
    assert calib.mtf_method == "photon-transfer" and calib.photon_transfer is not None
    # Noise gain of a Gamma deposit of mean g and relative spread s: g (1 + s^2) (noise_spectrum docstring).
    assert calib.noise_gain == pytest.approx(GAIN * (1 + SPREAD**2), rel=0.05)
    assert calib.read_noise == pytest.approx(READ, rel=0.05)
    assert calib.dark_offset == pytest.approx(OFFSET, rel=0.05)
    np.testing.assert_allclose(_mtf_bands(calib), _true_mtf_bands(), rtol=0.05)


def test_known_offset_is_used(stack: np.ndarray) -> None:
    calib = calibrate(stack, patch_px=PATCH, dark_offset=OFFSET)
    assert calib.dark_offset == OFFSET and not calib.photon_transfer.dark_offset_fitted
    assert calib.read_noise == pytest.approx(READ, rel=0.05)


def test_one_level_says_photon_transfer_is_impossible_and_uses_given_read_noise(stack: np.ndarray,
                                                                                caplog: pytest.LogCaptureFixture) -> None:
    one = stack[9:12]  # the three frames of one dose level
    calib = calibrate(one, patch_px=PATCH, read_noise=READ, dark_offset=OFFSET)
    assert calib.photon_transfer is None and calib.mtf_method == "single-level"
    assert "one exposure level" in calib.photon_transfer_note
    assert any("photon transfer impossible" in r.getMessage() for r in caplog.records)
    np.testing.assert_allclose(_mtf_bands(calib), _true_mtf_bands(), rtol=0.05)
    assert calib.noise_gain == pytest.approx(GAIN * (1 + SPREAD**2), rel=0.05)
    single = calibrate(one[:1], patch_px=PATCH)
    assert "one frame" in single.photon_transfer_note
    assert any("read noise unknown" in w for w in single.warnings)


def test_noise_that_does_not_grow_with_the_level_is_refused(stack: np.ndarray) -> None:
    """Frames rescaled one by one (the real frames' case): levels differ, the NPS does not."""
    shifted = stack[9:12] + np.array([0.0, 60.0, 120.0])[:, None, None]
    calib = calibrate(shifted, patch_px=PATCH)
    assert calib.photon_transfer is None and calib.photon_transfer_note.startswith("photon transfer failed")
    two = calibrate(stack[[0, 11]], patch_px=PATCH)
    assert two.photon_transfer is None and "two frames" in two.photon_transfer_note


def test_calibration_round_trips(stack: np.ndarray, tmp_path) -> None:
    calib = calibrate(stack[:2], patch_px=PATCH)
    path = save_calibration(calib, tmp_path / "calib.json")
    assert load_calibration(path) == calib
    assert path.read_text() == save_calibration(load_calibration(path), tmp_path / "again.json").read_text()


def test_calibrated_mtf_on_grid_matches_curve(stack: np.ndarray) -> None:
    calib = calibrate(stack[:3], patch_px=PATCH)
    grid = calibrated_mtf(calib, (PATCH, PATCH))
    assert grid[0, 0] == pytest.approx(1.0)
    np.testing.assert_allclose(ns.radial_profile(grid)[1:], calib.mtf[1:], atol=0.02)


def test_simulating_with_a_calibration_reproduces_it(stack: np.ndarray, tmp_path) -> None:
    """Closure: calibrate -> simulate with it -> calibrate again gives the same detector."""
    calib = calibrate(stack, patch_px=PATCH)
    path = save_calibration(calib, tmp_path / "calib.json")
    cfg = load_config("brownian-prisms", overrides=[
        "particles.count=0", "video.frames=8", f"video.height_px={SIZE}", f"video.width_px={SIZE}",
        f'detector.calibration="{path}"', "detector.gain_nonuniformity=0", "detector.hot_pixel_fraction=0",
        "detector.dead_pixel_fraction=0"])
    frames = simulate_video(cfg, seed=3).frames.astype(float)
    assert frames[:, 32:-32, 32:-32].mean() == pytest.approx(calib.background_mean, rel=0.03)
    again = calibrate(frames, patch_px=PATCH, read_noise=calib.read_noise, dark_offset=calib.dark_offset)
    np.testing.assert_allclose(_mtf_bands(again), _mtf_bands(calib), rtol=0.05)
    assert again.noise_gain == pytest.approx(calib.noise_gain, rel=0.05)


def test_texture_of_a_known_field() -> None:
    from scipy import ndimage

    rng = np.random.default_rng(0)
    field = ndimage.gaussian_filter(rng.standard_normal((512, 512)), 12.0, mode="wrap")
    frame = 1000.0 * (1 + 0.03 * field / field.std()) + 5.0 * rng.standard_normal((512, 512))
    rms, length = ns.texture_statistics(frame, np.ones(frame.shape, bool), noise_nps0=25.0)
    assert rms == pytest.approx(0.03, rel=0.15)
    assert length == pytest.approx(12.0, rel=0.2)


def test_texture_under_noise_stronger_than_it() -> None:
    """1 % texture under white noise of 30 % per pixel: after the σ = 8 px smoothing the noise
    variance (30²/(4π·8²)/100² = 1.1e-4) exceeds the texture's (0.69e-4); both its variance and
    its autocorrelation must be subtracted (without the latter: rms 0.017, length 5 px)."""
    from scipy import ndimage

    rng = np.random.default_rng(0)
    field = ndimage.gaussian_filter(rng.standard_normal((512, 512)), 12.0, mode="wrap")
    frames = np.array([100.0 * (1 + 0.01 * field / field.std()) + 30.0 * rng.standard_normal((512, 512))
                       for _ in range(3)])
    rms, length = ns.texture_statistics(frames[0], np.ones(frames[0].shape, bool), noise_nps0=900.0)
    assert rms == pytest.approx(0.01, rel=0.25)
    assert length == pytest.approx(12.0, rel=0.3)
    calib = calibrate(frames, dtype="float64")
    assert calib.texture.rms_relative == pytest.approx(0.01, rel=0.2)


# --------------------------------------------------------------------------- bad inputs


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_missing_file_is_one_line_error(tmp_path, capsys: pytest.CaptureFixture) -> None:
    code, err = _run(["calibrate", str(tmp_path / "nope.tif"), "--out", str(tmp_path / "c.json")], capsys)
    assert code == 2 and err.count("\n") == 1 and "nope.tif: no such file" in err


def test_frames_of_different_shapes_are_refused(tmp_path, capsys: pytest.CaptureFixture) -> None:
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((64, 64), np.uint16))
    tifffile.imwrite(tmp_path / "b.tif", np.zeros((64, 80), np.uint16))
    code, err = _run(["calibrate", str(tmp_path), "--out", str(tmp_path / "c.json")], capsys)
    assert code == 2 and err.count("\n") == 1 and "b.tif" in err and "one shape" in err
    assert not (tmp_path / "c.json").exists()
    with pytest.raises(UserError, match="one shape"):
        read_frames([tmp_path / "a.tif", tmp_path / "b.tif"])


def test_no_background_is_one_line_error(tmp_path, capsys: pytest.CaptureFixture) -> None:
    tifffile.imwrite(tmp_path / "small.tif", (100 + 10 * np.random.default_rng(0).standard_normal((48, 48))).astype(np.uint16))
    code, err = _run(["calibrate", str(tmp_path / "small.tif"), "--out", str(tmp_path / "c.json")], capsys)
    assert code == 2 and err.count("\n") == 1 and "no background found" in err
    code, err = _run(["calibrate", str(tmp_path / "small.tif"), "--roi", "0,0,100,10", "--out",
                      str(tmp_path / "c.json")], capsys)
    assert code == 2 and "--roi 0,0,100,10" in err


@pytest.mark.parametrize("where", ["missing folder", "folder"])
def test_a_bad_out_is_refused_before_the_frames_are_read(tmp_path, capsys: pytest.CaptureFixture, monkeypatch,
                                                         where: str) -> None:
    def read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the frames were read before --out was checked")

    monkeypatch.setattr("simulator.calibration.read_frames", read)
    out, expected = ((tmp_path / "no" / "c.json", f"--out {tmp_path / 'no' / 'c.json'}: folder {tmp_path / 'no'} "
                      "does not exist") if where == "missing folder" else
                     (tmp_path, f"--out {tmp_path}: is a folder; expected a JSON file, e.g. {tmp_path / 'calib.json'}"))
    code, err = _run(["calibrate", str(tmp_path / "f.tif"), "--out", str(out)], capsys)
    assert code == 2 and err.count("\n") == 1 and expected in err
    assert list(tmp_path.iterdir()) == []


def test_bad_calibration_file_is_config_error(tmp_path) -> None:
    (tmp_path / "x.json").write_text('{"schema_version": 1}')
    with pytest.raises(ConfigError, match="not a calibration file"):
        load_calibration(tmp_path / "x.json")
    cfg = load_config("brownian-prisms", overrides=[f'detector.calibration="{tmp_path / "missing.json"}"',
                                                    "video.frames=1", "video.height_px=32", "video.width_px=32"])
    with pytest.raises(ConfigError, match="no such file"):
        simulate_video(cfg, seed=0)


def test_nps_of_white_noise_is_its_variance_and_background_mask_keeps_flat_frames() -> None:
    rng = np.random.default_rng(1)
    frame = 50.0 + 3.0 * rng.standard_normal((256, 256))
    mask = ns.background_mask(frame)
    assert mask.mean() > 0.95
    nps = ns.radial_profile(ns.patch_nps(ns.background_patches(frame, mask, patch=32)))
    np.testing.assert_allclose(nps[2:], 9.0, rtol=0.1)
    frame[100:130, 100:130] -= 30.0  # a dark particle
    mask = ns.background_mask(frame)
    assert not mask[95:135, 95:135].any() and mask[:60, :60].all()


def test_haadf_with_a_calibration_is_refused(stack: np.ndarray, tmp_path) -> None:
    """The calibrated dose and texture follow bright-field transmission: HAADF is a clear error."""
    path = save_calibration(calibrate(stack[:2], patch_px=PATCH), tmp_path / "calib.json")
    with pytest.raises(ConfigError, match="imaging.mode = 'bright-field' only"):
        cfg = load_config("brownian-prisms", overrides=[
            "imaging.mode='haadf'", f'detector.calibration="{path}"', "video.frames=1",
            f"video.height_px={SIZE}", f"video.width_px={SIZE}"])
        simulate_video(cfg, seed=0)
