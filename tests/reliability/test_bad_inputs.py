"""A catalogue of bad inputs: every one ends in exit status 2 and one line ``nanoaq: error: ...``
naming the problem, with no traceback and nothing written or changed on disk.

Each case builds its bad input in its own folder (copies of one tiny dataset and prediction
folder), runs the real command line, and compares a snapshot of every file and link under the
case's folder and the shared inputs before and after.  Cases marked ``subprocess`` run
``python -m benchmark.cli`` in a child process (the console script as a user meets it); the others
call :func:`benchmark.cli.main` in-process, which is the same code path and much faster.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tifffile

from benchmark.cli import main
from simulator.config import load_config
from simulator.dataset import open_dataset, write_dataset, write_predictions

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "unet" / "weights"
#: What ``--dask bogus://x`` is told: the scheme is unknown, or, without dask installed, to install it.
BAD_DASK = ("--dask bogus://x: unknown address scheme 'bogus'" if importlib.util.find_spec("distributed")
            else "--dask needs dask.distributed")


@dataclass(frozen=True)
class Base:
    """The shared, never modified inputs: a 2-video dataset and a prediction folder for it."""

    root: Path
    ds: Path
    pred: Path


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Base:
    root = tmp_path_factory.mktemp("base")
    cfg = load_config("brownian-prisms", overrides=["video.frames=2", "video.height_px=32", "video.width_px=32",
                                                    "video.count=2", "particles.count=1"])
    ds = write_dataset(cfg, root / "ds", seed=3, workers=1, progress=False)
    d = open_dataset(ds)
    pred = write_predictions(root / "pred", ((v, d.labels(v)) for v in d.video_ids), method="truth", params={},
                             version="0", pixel_size_nm=1.0, frame_interval_s=0.1, dataset_checksum=d.checksum)
    return Base(root, ds, pred)


# --------------------------------------------------------------------------- building bad inputs


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def _toml(w: Path, text: str) -> Path:
    path = w / "bad.toml"
    path.write_text(text)
    return path


def _simulate_config(text: str) -> Callable[[Path, Base], list[str]]:
    return lambda w, b: ["simulate", "--config", str(_toml(w, text)), "--frames", "1", "--quiet", "--out", "out"]


def _simulate(*args: str) -> Callable[[Path, Base], list[str]]:
    return lambda w, b: ["simulate", *args, "--quiet", "--out", "out"]


def _after(setup: Callable[[Path], object], *argv: str) -> Callable[[Path, Base], list[str]]:
    """Run ``setup(case folder)``, then ``argv`` with ``{ds}`` and ``{pred}`` standing for the shared
    dataset and prediction folder."""
    def build(w: Path, b: Base) -> list[str]:
        setup(w)
        return [a.format(ds=b.ds, pred=b.pred) for a in argv]
    return build


def _edit_manifest(folder: Path, edit: Callable[[dict], None], name: str = "dataset.json") -> None:
    data = json.loads((folder / name).read_text())
    edit(data)
    (folder / name).write_text(json.dumps(data))


def _flip_byte(path: Path, at: int = -9) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def _score_with(mutate: Callable[[Path, Base], None]) -> Callable[[Path, Base], list[str]]:
    """``nanoaq score`` of a copy of the prediction folder changed by ``mutate``."""
    def build(w: Path, b: Base) -> list[str]:
        pred = _copy(b.pred, w / "pred")
        mutate(pred, b)
        return ["score", "--gt", str(b.ds), "--pred", str(pred), "--out", "out.json", "--quiet"]
    return build


def _labels(pred: Path, array: np.ndarray, video: str = "video_001") -> None:
    """Replace one video's predicted labels by ``array`` written as a plain TIFF."""
    path = pred / video / "labels.ome.tif"
    path.unlink()
    tifffile.imwrite(path, array)


def _ctc_with_a_gap(pred: Path, b: Base) -> None:
    """Video 0 as a Cell Tracking Challenge result with masks 0 and 2 but not 1."""
    shutil.rmtree(pred / "video_000")
    (pred / "video_000").mkdir()
    for t in (0, 2):
        tifffile.imwrite(pred / "video_000" / f"mask{t:03d}.tif", np.zeros((32, 32), np.uint16))


def _segment_ds(mutate: Callable[[Path], object], *, command: str = "segment") -> Callable[[Path, Base], list[str]]:
    """``nanoaq segment`` (or ``info``) of a copy of the dataset changed by ``mutate``."""
    def build(w: Path, b: Base) -> list[str]:
        ds = _copy(b.ds, w / "ds")
        mutate(ds)
        if command == "info":
            return ["info", str(ds)]
        return ["segment", "--method", "otsu", "--in", str(ds), "--out", "out", "--quiet"]
    return build


def _verify(mutate: Callable[[Path], None], which: str = "ds") -> Callable[[Path, Base], list[str]]:
    def build(w: Path, b: Base) -> list[str]:
        folder = _copy(getattr(b, which), w / which)
        mutate(folder)
        return ["verify", str(folder)]
    return build


def _reference(w: Path, b: Base) -> None:
    """``ref.json``: results of the method ``truth`` (the shared predictions scored)."""
    from benchmark.results import save_results
    from benchmark.score import score_folder

    save_results([score_folder(b.ds, b.pred, method="truth", progress=False)], w / "ref.json")


def _frames_tiff(w: Path) -> None:
    """``f.tif``: two 64 x 64 frames of noise, a TIFF input without metadata."""
    tifffile.imwrite(w / "f.tif", np.random.default_rng(0).integers(90, 110, (2, 64, 64), dtype=np.uint16))


def _segment_tiff(*options: str) -> Callable[[Path, Base], list[str]]:
    """``nanoaq segment`` of the TIFF ``f.tif`` with ``options``."""
    return _after(_frames_tiff, "segment", "--method", "otsu", "--in", "f.tif", "--out", "out", "--quiet", *options)


def _realism(*options: str) -> Callable[[Path, Base], list[str]]:
    """``nanoaq realism`` of the TIFF ``f.tif`` into ``rep`` with ``options``."""
    return _after(_frames_tiff, "realism", "--real", "f.tif", "--size", "64", "--frames", "1", "--set",
                  "particles.count=1", "--out", "rep", *options)


def _absurd_tiff(path: Path) -> None:
    """A 8 KiB TIFF whose header declares 65000 x 65000 uint16 pixels (7.9 GiB)."""
    tifffile.imwrite(path, np.zeros((64, 64), np.uint16), metadata=None)
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tags = tif.pages[0].tags
        for code in (256, 257, 278):  # ImageWidth, ImageLength, RowsPerStrip
            tags[code].overwrite(65000)


def _unet_model(setup: Callable[[Path], None], name: str = "") -> Callable[[Path, Base], list[str]]:
    """``nanoaq segment --method unet`` with the model folder that ``setup`` fills (or its file ``name``)."""
    def build(w: Path, b: Base) -> list[str]:
        model = w / "model"
        model.mkdir()
        setup(model)
        return ["segment", "--method", "unet", "--params", json.dumps({"model": str(model / name)}),
                "--in", str(b.ds), "--out", "out", "--quiet"]
    return build


def _weights_and_config(model: Path, arch: Callable[[dict], None] | None = None, *, config: bool = True) -> None:
    shutil.copy(WEIGHTS / "default.safetensors", model / "model.safetensors")
    if config:
        cfg = json.loads((WEIGHTS / "default.json").read_text())
        if arch is not None:
            arch(cfg["architecture"])
        (model / "model.json").write_text(json.dumps(cfg))


def _pickle_named_safetensors(model: Path) -> None:
    _weights_and_config(model)
    (model / "model.safetensors").write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))


# --------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Case:
    build: Callable[[Path, Base], list[str]]
    expected: str
    subprocess: bool = False


CASES: dict[str, Case] = {
    # ---- configs
    "config-unknown-key": Case(_simulate_config("[video]\nbogus = 1\n"),
                               "unknown key 'video.bogus'; allowed keys here: count, frames", subprocess=True),
    "config-wrong-type": Case(_simulate_config('[video]\ncount = "many"\n'),
                              "video.count = 'many': Input should be a valid integer"),
    "config-negative-dose": Case(_simulate_config("[imaging]\ndose_rate_e_per_A2_s = -5\n"),
                                 "imaging.dose_rate_e_per_A2_s = -5: Input should be greater than 0"),
    "config-particle-larger-than-field": Case(
        _simulate_config("[video]\nheight_px = 32\nwidth_px = 32\n[particles]\ncount = 1\nsize_nm = 500\n"),
        "does not fit the 32×32 nm field"),
    "config-impossible-density": Case(
        _simulate_config("[video]\nheight_px = 32\nwidth_px = 32\n[particles]\ncount = 500\n"),
        "particles.count = 500: only 1 particles"),
    "config-count-and-density": Case(
        _simulate("--preset", "assembly-cubes", "--set", "particles.count=5", "--set", "particles.density_per_um2=50"),
        "particles.count = 5 and particles.density_per_um2 = 50 are both set", subprocess=True),
    "config-count-and-density-in-file": Case(
        _simulate_config("[particles]\ncount = 5\ndensity_per_um2 = 50\n"),
        "particles.count = 5 and particles.density_per_um2 = 50 are both set"),
    "config-density-not-positive": Case(_simulate("--preset", "assembly-cubes", "--set", "particles.density_per_um2=0"),
                                        "particles.density_per_um2 = 0: Input should be greater than 0"),
    "config-impossible-density-per-um2": Case(
        _simulate("--size", "32", "--frames", "1", "--set", "particles.density_per_um2=100000"),
        "particles.density_per_um2 = 100000: only 6 particles of ~25 nm fit without overlap in the 64×64 nm"),
    "config-exposure-longer-than-interval": Case(
        _simulate_config("[imaging]\nexposure_s = 0.5\nframe_interval_s = 0.1\n"),
        "exposure_s (0.5) must not exceed frame_interval_s (0.1)"),
    "config-fbm-steps-beyond-count": Case(
        _simulate("--frames", "1", "--set", "dynamics.model=fbm", "--set", "dynamics.hurst=0.001", "--set",
                  "dynamics.slowdown=1e-3"),
        "dynamics: more than 1e15 integration steps per frame (interactions keep each step under"),
    "config-not-toml": Case(_simulate_config("[video\nframes = 2\n"), "bad.toml: not valid TOML"),
    "config-missing-file": Case(lambda w, b: ["simulate", "--config", "nope.toml", "--out", "out"],
                                "config file nope.toml: no such file"),
    "config-negative-shape-fraction": Case(_simulate_config('[particles.shapes]\nsphere = -1.0\n'),
                                           "expected non-negative fractions with a positive sum"),
    "config-calibration-missing": Case(_simulate("--calibration", "nope.json", "--frames", "1"),
                                       "detector.calibration = 'nope.json': no such file"),
    "config-calibration-not-a-calibration": Case(
        _after(lambda w: (w / "c.json").write_text('{"a": 1}'), "simulate", "--calibration", "c.json", "--frames", "1",
               "--quiet", "--out", "out"),
        "detector.calibration = 'c.json': not a calibration file"),
    # ---- command-line arguments
    "cli-unknown-method": Case(lambda w, b: ["segment", "--method", "nope", "--in", str(b.ds), "--out", "out"],
                               "unknown method 'nope'; valid methods: otsu", subprocess=True),
    "cli-unimportable-method": Case(lambda w, b: ["segment", "--method", "no_such_pkg.mod:seg", "--in", str(b.ds),
                                                  "--out", "out"], "cannot import module 'no_such_pkg.mod'"),
    "cli-set-without-equals": Case(_simulate("--set", "video.frames"), "override 'video.frames': expected KEY=VALUE"),
    "cli-set-into-a-value": Case(_simulate("--set", "video.frames.x=3"), "frames is a value, not a section"),
    "cli-set-unknown-key": Case(_simulate("--set", "video.fps=3"), "unknown key 'video.fps'"),
    "cli-missing-required-option": Case(lambda w, b: ["score", "--pred", str(b.pred)],
                                        "the following arguments are required: --gt"),
    "cli-bad-integer": Case(_simulate("--frames", "two"), "argument --frames: invalid int value: 'two'"),
    "cli-bad-float": Case(lambda w, b: ["bench", "--methods", "otsu", "--tolerance", "lots", "--out", "r.json"],
                          "argument --tolerance: invalid float value: 'lots'"),
    "cli-zero-workers": Case(_simulate("--workers", "0", "--frames", "1", "--size", "32", "--set", "particles.count=1"),
                             "workers = 0: expected a positive number"),
    "cli-out-in-missing-folder": Case(
        lambda w, b: ["simulate", "--frames", "1", "--size", "32", "--set", "particles.count=1", "--quiet",
                      "--out", "no/such/out"], "parent folder no/such does not exist"),
    "cli-unknown-suite": Case(lambda w, b: ["bench", "--suite", "huge", "--methods", "otsu", "--out", "r.json"],
                              "suite 'huge' is unknown; valid suites: quick"),
    "cli-empty-methods": Case(lambda w, b: ["bench", "--methods", " , ", "--out", "r.json"],
                              "--methods: give at least one method"),
    "cli-bench-out-in-missing-folder": Case(lambda w, b: ["bench", "--methods", "otsu", "--out", "no/r.json", "--quiet"],
                                            "--out no/r.json: folder no does not exist"),
    "cli-bench-out-is-a-folder": Case(_after(lambda w: (w / "res").mkdir(), "bench", "--methods", "otsu", "--out",
                                             "res", "--quiet"), "--out res: is a folder; expected a results file"),
    "cli-score-out-is-a-folder": Case(_after(lambda w: (w / "res").mkdir(), "score", "--gt", "{ds}", "--pred",
                                             "{pred}", "--out", "res", "--quiet"), "--out res: is a folder"),
    "cli-tolerance-nan": Case(lambda w, b: ["bench", "--methods", "otsu", "--tolerance", "nan", "--out", "r.json",
                                            "--quiet"], "--tolerance nan: expected a finite number >= 0"),
    "cli-tolerance-negative": Case(lambda w, b: ["bench", "--methods", "otsu", "--tolerance", "-1", "--out", "r.json",
                                                 "--quiet"], "--tolerance -1.0: expected a finite number >= 0"),
    "cli-gate-without-the-method": Case(lambda w, b: (_reference(w, b), ["bench", "--methods", "otsu", "--gate",
                                                                         "ref.json", "--out", "r.json", "--quiet"])[1],
                                        "--gate ref.json: no reference results for method otsu; it holds truth"),
    "cli-params-misspelt-method": Case(lambda w, b: ["bench", "--methods", "otsu,li", "--params",
                                                     '{"otsuu": {"sigma_px": 2}}', "--out", "r.json", "--quiet"],
                                       "--params: 'otsuu' is not one of the methods otsu, li"),
    "cli-params-flat-for-several-methods": Case(lambda w, b: ["bench", "--methods", "otsu,li", "--params",
                                                              '{"sigma_px": 2}', "--out", "r.json", "--quiet"],
                                                "'sigma_px' is not one of the methods otsu, li; with several"),
    "cli-simulate-negative-seed": Case(_simulate("--seed", "-1", "--frames", "1", "--size", "32", "--set",
                                                 "particles.count=1"), "seed = -1: expected a whole number >= 0"),
    "cli-simulate-bad-dask": Case(_simulate("--dask", "bogus://x", "--frames", "1", "--size", "32", "--set",
                                            "particles.count=1"), BAD_DASK),
    "cli-bench-bad-dask": Case(lambda w, b: ["bench", "--methods", "otsu", "--dask", "bogus://x", "--out", "r.json",
                                             "--quiet"], BAD_DASK),
    "cli-score-bad-dask": Case(lambda w, b: ["score", "--gt", str(b.ds), "--pred", str(b.pred), "--dask", "bogus://x",
                                             "--out", "r.json", "--quiet"], BAD_DASK),
    "cli-segment-zero-pixel-size": Case(_segment_tiff("--pixel-size-nm", "0"),
                                        "--pixel-size-nm 0.0: expected a positive finite number of nm"),
    "cli-segment-nan-pixel-size": Case(_segment_tiff("--pixel-size-nm", "nan"),
                                       "--pixel-size-nm nan: expected a positive finite number of nm"),
    "cli-segment-negative-pixel-size": Case(_segment_tiff("--pixel-size-nm", "-1"),
                                            "--pixel-size-nm -1.0: expected a positive finite number of nm"),
    "cli-segment-zero-pixel-size-in-the-tiff": Case(
        _after(lambda w: tifffile.imwrite(w / "f.tif", np.full((2, 64, 64), 100, np.uint16), ome=True,
                                          metadata={"axes": "TYX", "PhysicalSizeX": 0.0, "PhysicalSizeY": 0.0}),
               "segment", "--method", "otsu", "--in", "f.tif", "--out", "out", "--quiet"),
        "f.tif: pixel size 0.0 in the TIFF metadata: expected a positive number (give it with --pixel-size-nm)"),
    "cli-segment-negative-frame-interval": Case(_segment_tiff("--pixel-size-nm", "1", "--frame-interval-s", "-3"),
                                                "--frame-interval-s -3.0: expected a positive finite number of s"),
    "cli-realism-missing-real": Case(lambda w, b: ["realism", "--real", "nope.tif", "--out", "rep"],
                                     "nope.tif: no such file"),
    "cli-realism-zero-frames": Case(_realism("--frames", "0"), "video.frames = 0: Input should be greater than"),
    "cli-realism-negative-seed": Case(_realism("--seed", "-1"), "seed = -1: expected a whole number >= 0"),
    "cli-realism-out-is-a-file": Case(_after(lambda w: (_frames_tiff(w), (w / "rep").write_text("")), "realism",
                                             "--real", "f.tif", "--out", "rep"),
                                      "--out rep: is a file; expected a folder"),
    "cli-params-not-json": Case(lambda w, b: ["segment", "--method", "otsu", "--params", "{oops", "--in", str(b.ds),
                                              "--out", "out"], "--params: not valid JSON"),
    "cli-param-out-of-range": Case(lambda w, b: ["segment", "--method", "sauvola", "--params", '{"window_size": 30}',
                                                 "--in", str(b.ds), "--out", "out"],
                                   "parameter 'window_size' = 30 is not allowed"),
    "cli-output-exists": Case(_after(lambda w: (w / "out").mkdir(), "segment", "--method", "otsu", "--in", "{ds}",
                                     "--out", "out", "--quiet"),
                              "output folder out already exists"),
    "cli-zero-max-gb": Case(lambda w, b: ["segment", "--method", "otsu", "--in", str(b.ds), "--out", "out",
                                          "--max-gb", "0", "--quiet"], "expected a positive number of GiB"),
    "cli-preview-zero-frames": Case(lambda w, b: ["preview", str(b.ds), "--frames", "0", "--out", "p.png"],
                                    "--frames 0: expected at least 1 frame"),
    "cli-preview-out-in-missing-folder": Case(lambda w, b: ["preview", str(b.ds), "--out", "no/p.png"],
                                              "--out no/p.png: folder no does not exist"),
    "cli-calibrate-bad-roi": Case(_after(lambda w: tifffile.imwrite(w / "f.tif", np.ones((64, 64), np.uint16)),
                                         "calibrate", "f.tif", "--roi", "1,2", "--out", "c.json"),
                                  "'1,2': expected X,Y,W,H"),
    "cli-unet-zero-tile": Case(lambda w, b: ["segment", "--method", "unet", "--params", '{"tile": 0}', "--in", str(b.ds),
                                             "--out", "out", "--quiet"],
                               "method unet: parameter 'tile' = 0 is not allowed; expected an integer >= 1"),
    "cli-unet-negative-overlap": Case(lambda w, b: ["segment", "--method", "unet", "--params",
                                                    '{"overlap": -40, "tile": 32}', "--in", str(b.ds), "--out", "out",
                                                    "--quiet"],
                                      "method unet: parameter 'overlap' = -40 is not allowed; expected an integer >= 0"),
    "cli-unet-unknown-device": Case(lambda w, b: ["segment", "--method", "unet", "--params", '{"device": "tpu"}',
                                                  "--in", str(b.ds), "--out", "out", "--quiet"],
                                    "method unet: parameter 'device' = 'tpu': expected cpu, cuda or cuda:N"),
    "cli-train-bad-steps": Case(lambda w, b: ["train", "--out", "model", "--steps", "0"], "--steps 0: expected at least 1"),
    "cli-train-negative-lr": Case(lambda w, b: ["train", "--out", "model", "--lr", "-1"],
                                  "--lr -1.0: expected a positive learning rate"),
    "cli-train-zero-batch": Case(lambda w, b: ["train", "--out", "model", "--batch-size", "0"],
                                 "--batch-size 0: expected at least 1"),
    "cli-train-negative-margin": Case(lambda w, b: ["train", "--out", "model", "--margin", "-4"],
                                      "--margin -4: expected 0 or more px"),
    # ---- prediction folders
    "pred-wrong-shape": Case(_score_with(lambda p, b: _labels(p, np.zeros((2, 31, 32), np.uint16))),
                             "pred/video_001: prediction has shape (2, 31, 32), expected (2, 32, 32)", subprocess=True),
    "pred-float-labels": Case(_score_with(lambda p, b: _labels(p, np.ones((2, 32, 32), np.float32))),
                              "pred/video_001: labels are float32; expected integer labels"),
    "pred-negative-labels": Case(_score_with(lambda p, b: _labels(p, -np.ones((2, 32, 32), np.int16))),
                                 "pred/video_001, frame 0: negative labels"),
    "pred-nan": Case(_score_with(lambda p, b: _labels(p, np.stack([np.zeros((32, 32)), np.full((32, 32), np.nan)])
                                                      .astype(np.float32))),
                     "pred/video_001, frame 1: NaN or infinite labels"),
    "pred-missing-frame": Case(_score_with(lambda p, b: _labels(p, np.zeros((1, 32, 32), np.uint16))),
                               "prediction has shape (1, 32, 32), expected (2, 32, 32)"),
    "pred-extra-video": Case(_score_with(lambda p, b: shutil.copytree(p / "video_000", p / "video_007")),
                             "video video_007 is not in the dataset"),
    "pred-missing-video": Case(_score_with(lambda p, b: shutil.rmtree(p / "video_001")),
                               "no prediction for video video_001"),
    "pred-other-dataset-checksum": Case(
        _score_with(lambda p, b: _edit_manifest(p, lambda m: m.update(dataset_checksum="0" * 64), "predictions.json")),
        "dataset_checksum 000000000000… records another dataset"),
    "pred-ctc-missing-mask": Case(_score_with(_ctc_with_a_gap), "video_000, frame 1: mask001.tif is missing"),
    # ---- TIFF files
    "tiff-truncated": Case(_score_with(lambda p, b: (p / "video_001" / "labels.ome.tif").write_bytes(
        (p / "video_001" / "labels.ome.tif").read_bytes()[:300])), "labels.ome.tif: truncated or corrupt TIFF",
        subprocess=True),
    "tiff-zero-bytes": Case(_score_with(lambda p, b: (p / "video_001" / "labels.ome.tif").write_bytes(b"")),
                            "labels.ome.tif: empty file (0 bytes), expected a TIFF"),
    "tiff-not-a-tiff": Case(_score_with(lambda p, b: (p / "video_001" / "labels.ome.tif").write_bytes(b"GIF89a" * 50)),
                            "labels.ome.tif: not a readable TIFF"),
    "tiff-calibrate-zero-bytes": Case(_after(lambda w: (w / "f.tif").write_bytes(b""), "calibrate", "f.tif",
                                             "--out", "c.json"), "f.tif: empty file (0 bytes)"),
    "tiff-wrong-dtype": Case(_score_with(lambda p, b: _labels(p, np.zeros((2, 32, 32), np.complex64))),
                             "labels are complex64; expected integer labels"),
    "tiff-absurd-dimensions": Case(_score_with(lambda p, b: _absurd_tiff(p / "video_001" / "labels.ome.tif")),
                                   "declares (65000, 65000) uint16 = 7.9 GiB, above the limit of 4 GiB",
                                   subprocess=True),
    "tiff-absurd-dimensions-as-input": Case(
        _after(lambda w: _absurd_tiff(w / "frames.tif"), "segment", "--method", "otsu", "--in", "frames.tif",
               "--out", "out", "--quiet"),
        "frames.tif: declares (65000, 65000) uint16 = 7.9 GiB, above the limit of 4 GiB"),
    "tiff-truncated-dataset-video": Case(_segment_ds(lambda d: (
        _edit_manifest(d, lambda m: m["videos"][0]["files"].pop("video.ome.tif")),
        (d / "video_000" / "video.ome.tif").write_bytes((d / "video_000" / "video.ome.tif").read_bytes()[:500]))),
        "video_000/video.ome.tif: truncated or corrupt TIFF"),
    # ---- manifests
    "manifest-id-escapes": Case(_verify(lambda d: _edit_manifest(d, lambda m: m["videos"][0].update(id="../../etc"))),
                                "video folder '../../etc' is not a plain name inside the dataset", subprocess=True),
    "manifest-file-escapes": Case(_segment_ds(lambda d: _edit_manifest(
        d, lambda m: m["videos"][1]["files"].update({"../../../etc/passwd": "0" * 64}))),
        "file '../../../etc/passwd' is not a plain name inside the dataset"),
    "manifest-link-outside": Case(_segment_ds(lambda d: (shutil.rmtree(d / "video_001"),
                                                         (d / "video_001").symlink_to(d.parent.parent))),
                                  "video_001: video folder is a link pointing outside the dataset"),
    "manifest-file-link": Case(_verify(lambda d: ((d / "video_000" / "events.csv").unlink(),
                                                  (d / "video_000" / "events.csv").symlink_to("/etc/hostname"))),
                               "events.csv: file is a link pointing outside the dataset"),
    "manifest-checksum-mismatch": Case(_verify(lambda d: _flip_byte(d / "video_001" / "video.ome.tif")),
                                       "video_001/video.ome.tif: sha256 differs from the manifest"),
    "manifest-checksum-mismatch-on-read": Case(_segment_ds(lambda d: _flip_byte(d / "video_001" / "video.ome.tif")),
                                               "video_001/video.ome.tif: sha256 differs from"),
    "manifest-not-json": Case(_verify(lambda d: (d / "dataset.json").write_text("{oops")),
                              "dataset.json: not valid JSON"),
    "manifest-wrong-schema": Case(_verify(lambda d: _edit_manifest(d, lambda m: m.update(schema_version=9))),
                                  "dataset.json: schema_version must be 1"),
    "manifest-prediction-checksum": Case(_verify(lambda p: _flip_byte(p / "video_000" / "labels.ome.tif"), "pred"),
                                         "video_000/labels.ome.tif: sha256 differs from the manifest"),
    "manifest-short-csv-row": Case(
        _segment_ds(lambda d: (_edit_manifest(d, lambda m: m["videos"][0]["files"].pop("tracks.csv")),
                               (d / "video_000" / "tracks.csv").write_text("id,first_frame\n1\n")), command="info"),
        "tracks.csv, line 2: 1 field(s) where the header has 2"),
    # ---- model folders
    "model-missing-config": Case(_unet_model(lambda m: _weights_and_config(m, config=False)),
                                 "config model.json missing", subprocess=True),
    "model-mismatched-architecture": Case(_unet_model(lambda m: _weights_and_config(m, lambda a: a.update(depth=a["depth"] + 1))),
                                          "weights do not match the architecture in model.json"),
    "model-pickle-file": Case(_unet_model(lambda m: (m / "x.pt").write_bytes(pickle.dumps({"w": 1})), "x.pt"),
                              "pickle/torch files are refused"),
    "model-pickle-named-safetensors": Case(_unet_model(_pickle_named_safetensors),
                                           "model.safetensors: not a safetensors file"),
}


def _snapshot(*roots: Path) -> dict[str, object]:
    """Every file (its bytes), link (its target) and folder under ``roots``, without following links."""
    out: dict[str, object] = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                p = Path(folder) / name
                out[str(p)] = f"-> {os.readlink(p)}" if p.is_symlink() else p.read_bytes() if p.is_file() else "dir"
    return out


def _run(argv: list[str], cwd: Path, in_process: bool, capsys, monkeypatch) -> tuple[int, str, str]:
    if in_process:
        monkeypatch.chdir(cwd)
        code = main(argv)
        cap = capsys.readouterr()
        return code, cap.out, cap.err
    env = {**os.environ, "PYTHONPATH": str(REPO), "NANOAQ_CACHE": str(cwd / "cache")}
    proc = subprocess.run([sys.executable, "-m", "benchmark.cli", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_catalogue_is_large_and_covers_every_kind():
    kinds = {name.split("-")[0] for name in CASES}
    assert len(CASES) >= 30 and kinds == {"config", "cli", "pred", "tiff", "manifest", "model"}
    assert {n.split("-")[0] for n, c in CASES.items() if c.subprocess} == kinds


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(name, base, tmp_path, capsys, monkeypatch):
    case = CASES[name]
    monkeypatch.setenv("NANOAQ_CACHE", str(tmp_path / "cache"))  # a bench that got as far as generating would show
    argv = case.build(tmp_path, base)
    before = _snapshot(tmp_path, base.root)
    code, out, err = _run(argv, tmp_path, not case.subprocess, capsys, monkeypatch)
    assert code == 2, (code, out, err)
    assert "Traceback" not in err + out
    assert err.endswith("\n") and err.count("\n") == 1 and err.startswith("nanoaq: error: "), err
    assert case.expected in err, err
    assert _snapshot(tmp_path, base.root) == before, "the command wrote or changed files"
