"""The dataset on disk (schema version 1, see ``shared/DESIGN.md``) and prediction folders.

::

    <dataset>/
      dataset.json          manifest: schema version, generator version, preset, seed and, for
                            each video, its id, seed, frame count, shape and every file's sha256
      <video_id>/
        video.ome.tif       uint16 (T, Y, X)
        labels.ome.tif      uint32 (T, Y, X) instance labels = track ids, 0 background
        particles.csv  tracks.csv  events.csv  config.json  [potential.csv]

Writing is atomic and resumable: everything goes into ``<dataset>.partial/``; each video is
written to a hidden temporary folder and renamed when whole, and its checksums are recorded in
``<dataset>.partial/progress.json``; when every video is there the manifest is written and the
folder renamed to ``<dataset>``.  Running the same command again after a crash keeps every
recorded video whose files still match their checksums and writes only the rest.

Each video's seed is spawned from one :class:`numpy.random.SeedSequence` of the dataset seed, so
a video's bytes do not depend on how many processes write the dataset.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .config import SimulationConfig
from .errors import DatasetError, UserError
from .outfile import write_atomic
from .parallel import check_dask, run_jobs
from .tables import read_csv, table_to_csv
from .tiffio import read_tiff, tiff_info, write_ome_tiff
from .video import EVENT_COLUMNS, PARTICLE_COLUMNS, TRACK_COLUMNS, Table, Video, VideoMeta

__all__ = [
    "SCHEMA_VERSION",
    "Dataset",
    "write_dataset",
    "open_dataset",
    "video_seeds",
    "write_predictions",
    "read_predictions",
    "sha256_file",
    "update_digest",
    "verify_folder",
]

SCHEMA_VERSION = 1
_MANIFEST = "dataset.json"
_PROGRESS = "progress.json"
_PRED_MANIFEST = "predictions.json"
_LABEL_DTYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def video_seeds(seed: int, count: int) -> list[int]:
    """One integer seed per video, spawned from ``SeedSequence(seed)``."""
    children = np.random.SeedSequence(int(seed)).spawn(int(count))
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def _calibration_record(config: SimulationConfig) -> dict | None:
    """The calibration a config renders with: its file's sha256 and contents (None without one).

    A dataset records what it was calibrated with, not only the path, so that a calib.json changed
    between a killed run and its resume starts the dataset afresh instead of mixing two calibrations,
    and so that what the dataset was rendered with can be read from it when the file is gone.
    """
    if not config.detector.calibration:
        return None
    from .calibration import load_calibration

    calib = load_calibration(config.detector.calibration)  # one-line ConfigError if missing or not one
    return {"sha256": sha256_file(config.detector.calibration), "contents": calib.model_dump(mode="json")}


def _config_digest(config: SimulationConfig, seed: int) -> str:
    calib = _calibration_record(config)
    extra = f"\ncalibration_sha256={calib['sha256']}" if calib else ""
    return hashlib.sha256(f"{config.to_json()}\nseed={seed}{extra}".encode()).hexdigest()


def _write_video(config: SimulationConfig, folder: Path, *, seed: int, video_id: str) -> dict:
    """Simulate one video into ``folder`` (created); return its manifest entry."""
    from .simulate import Simulation  # the renderer is heavy; import it only to write data

    folder.mkdir(parents=True)
    sim = Simulation(config, seed=seed, video_id=video_id)
    meta = sim.meta
    T, Y, X = meta.shape
    particles: Table = []
    events: Table = []
    # Labels go to a scratch file (plain writes and reads, not a memory map: mapped pages would
    # count in the process's resident memory) while the frames stream into their TIFF, then
    # stream from it into theirs, so memory stays at a few frames whatever the video's length.
    scratch = folder / ".labels.scratch"
    with open(scratch, "w+b") as fh:

        def _frames() -> Iterator[np.ndarray]:
            for out in sim.frames():
                fh.write(np.ascontiguousarray(out.labels, dtype=np.uint32).tobytes())
                particles.extend(out.particles)
                events.extend(out.events)
                yield out.image

        def _labels() -> Iterator[np.ndarray]:
            fh.seek(0)
            for _ in range(T):
                yield np.frombuffer(fh.read(Y * X * 4), dtype=np.uint32).reshape(Y, X)

        common = dict(shape=(T, Y, X), pixel_size_nm=meta.pixel_size_nm,
                      frame_interval_s=meta.frame_interval_s)
        write_ome_tiff(folder / "video.ome.tif", _frames(), dtype=np.uint16, **common)
        fh.flush()
        write_ome_tiff(folder / "labels.ome.tif", _labels(), dtype=np.uint32, **common)
    scratch.unlink()
    (folder / "particles.csv").write_text(table_to_csv(particles, PARTICLE_COLUMNS), encoding="utf-8")
    (folder / "tracks.csv").write_text(table_to_csv(sim.tracks, TRACK_COLUMNS), encoding="utf-8")
    (folder / "events.csv").write_text(table_to_csv(events, EVENT_COLUMNS), encoding="utf-8")
    if sim.potential is not None:
        (folder / "potential.csv").write_text(table_to_csv(sim.potential, ("r_nm", "U_kT")), encoding="utf-8")
    resolved = {
        "config": config.model_dump(mode="json"),
        "seed": seed,
        "video_id": video_id,
        "meta": meta.to_dict(),
        "versions": {"nanoaquarium": __version__},
    }
    calib = _calibration_record(config)
    if calib:
        resolved["calibration"] = calib
    (folder / "config.json").write_text(json.dumps(resolved, sort_keys=True, indent=2), encoding="utf-8")
    return {
        "id": video_id,
        "seed": seed,
        "frames": T,
        "shape": [T, Y, X],
        "files": {p.name: sha256_file(p) for p in sorted(folder.iterdir())},
    }


def _entry_intact(root: Path, entry: dict) -> bool:
    folder = root / entry["id"]
    try:
        return all(sha256_file(folder / name) == digest for name, digest in entry["files"].items())
    except OSError:
        return False


def _render_video(config_json: str, partial: str, seed: int, video_id: str) -> dict:
    """Render one video into ``partial/<video_id>`` via a hidden temporary folder (any process)."""
    from .config import SimulationConfig

    config = SimulationConfig.model_validate_json(config_json)
    root = Path(partial)
    final, tmp = root / video_id, root / f".tmp-{video_id}"
    for leftover in (final, tmp):
        if leftover.exists():
            shutil.rmtree(leftover)
    entry = _write_video(config, tmp, seed=seed, video_id=video_id)
    os.replace(tmp, final)
    return entry


def _removing_on_user_error(results: Iterator[dict], partial: Path | None) -> Iterator[dict]:
    """Pass ``results`` through; on a user's mistake found while rendering (a scene that does not
    fit, say) remove ``partial`` (a folder this run created), so that nothing is left behind."""
    try:
        yield from results
    except UserError:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
        raise


def write_dataset(
    config: SimulationConfig,
    out: str | Path,
    *,
    seed: int = 0,
    workers: int | None = 1,
    dask: str | None = None,
    progress: bool = True,
) -> Path:
    """Simulate ``config.video.count`` videos into the dataset folder ``out``.

    Parameters
    ----------
    config : the validated configuration
    out : the dataset folder; must not exist yet (unless it is the same complete dataset)
    seed : dataset seed (>= 0); video ``i`` gets the ``i``-th seed spawned from it
    workers : processes rendering videos in parallel (``None``: one per core, at most one per
        video); the bytes written do not depend on it
    dask : ``"local"`` for a ``dask.distributed`` LocalCluster of ``workers`` processes, or a
        scheduler address (``tcp://host:8786``) whose workers see ``out`` on a shared file system
    progress : show a tqdm progress bar over videos

    Returns
    -------
    The dataset folder.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    digest = _config_digest(config, seed)
    if out.exists():
        manifest_path = out / _MANIFEST
        if manifest_path.is_file():
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if manifest.get("config_sha256") == digest:
                return out  # the same dataset is already complete
        raise UserError(f"output folder {out} already exists and holds something else; choose another --out or remove it")
    if not out.parent.exists():
        raise UserError(f"output folder {out}: parent folder {out.parent} does not exist")
    if workers is not None and workers < 1:
        raise UserError(f"workers = {workers}: expected a positive number of processes")
    if seed < 0:
        raise UserError(f"seed = {seed}: expected a whole number >= 0 (--seed)")
    check_dask(dask)

    partial = out.with_name(out.name + ".partial")
    fresh = not partial.exists()
    partial.mkdir(exist_ok=True)
    progress_path = partial / _PROGRESS
    done: dict[str, dict] = {}
    if progress_path.is_file():
        state = json.loads(progress_path.read_text(encoding="utf-8"))
        if state.get("config_sha256") == digest:
            done = {e["id"]: e for e in state["videos"] if _entry_intact(partial, e)}
        else:  # a different run's leftovers: start afresh
            shutil.rmtree(partial)
            partial.mkdir()

    ids = [f"video_{i:03d}" for i in range(config.video.count)]
    seeds = dict(zip(ids, video_seeds(seed, config.video.count)))
    config_json = config.model_dump_json()
    tasks = [(config_json, str(partial), seeds[vid], vid) for vid in ids if vid not in done]
    results = (entry for _, entry in run_jobs(_render_video, tasks, workers=workers, dask=dask))
    results = _removing_on_user_error(results, partial if fresh else None)
    bar = tqdm(total=len(ids), initial=len(done), desc="simulate", unit="video", disable=not progress)
    for entry in results:
        done[entry["id"]] = entry
        bar.update()
        write_atomic(
            progress_path,
            json.dumps({"config_sha256": digest, "videos": [done[v] for v in ids if v in done]}, sort_keys=True),
        )
    bar.close()

    manifest = {
        "schema_version": SCHEMA_VERSION,
        "generator": "nanoaquarium",
        "generator_version": __version__,
        "preset": config.preset,
        "seed": int(seed),
        "config_sha256": digest,
        "videos": [done[v] for v in ids],
    }
    write_atomic(partial / _MANIFEST, json.dumps(manifest, sort_keys=True, indent=2))
    progress_path.unlink()
    os.replace(partial, out)
    return out


# --------------------------------------------------------------------------- reading


def _as_video(a: np.ndarray) -> np.ndarray:
    """(T, Y, X) even for a one-frame stack, which TIFF readers return as (Y, X)."""
    return a[None] if a.ndim == 2 else a


def _safe_child(root: Path, name: str, what: str, manifest: Path) -> Path:
    """``root / name`` after checking that it stays inside ``root`` (no ``..``, no links out);
    ``manifest`` is the file that named it (for the message)."""
    if not isinstance(name, str) or not name or name in (".", "..") or os.path.isabs(name) or Path(name).name != name:
        raise DatasetError(f"{manifest}: {what} {name!r} is not a plain name inside the dataset folder {root}")
    path = root / name
    if path.exists() and root.resolve() not in path.resolve().parents:
        raise DatasetError(f"{path}: {what} is a link pointing outside the dataset folder {root}")
    if path.is_symlink():
        raise DatasetError(f"{path}: {what} is a link; expected a plain {what} (links are never followed)")
    return path


def update_digest(h: "hashlib._Hash", manifest: dict, prefix: str = "") -> None:
    """Feed every file checksum of a dataset (or prediction) manifest into ``h``: the dataset's and
    the benchmark suite's checksum."""
    for v in manifest["videos"]:
        for name, digest in sorted(v["files"].items()):
            h.update(f"{prefix}{v['id']}/{name}:{digest}\n".encode())


@dataclass
class Dataset:
    """A dataset folder opened through its manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def video_ids(self) -> list[str]:
        return [v["id"] for v in self.manifest["videos"]]

    def _entry(self, video_id: str) -> dict:
        for v in self.manifest["videos"]:
            if v["id"] == video_id:
                return v
        raise DatasetError(f"{self.path}: no video {video_id!r}; it has {', '.join(self.video_ids)}")

    @property
    def checksum(self) -> str:
        """sha256 over every file checksum of the manifest (what prediction folders record)."""
        h = hashlib.sha256()
        update_digest(h, self.manifest)
        return h.hexdigest()

    def _folder(self, video_id: str) -> Path:
        self._entry(video_id)
        return _safe_child(self.path, video_id, "video folder", self.path / _MANIFEST)

    def _file(self, video_id: str, name: str) -> Path:
        """``<video_id>/<name>`` after checking its sha256 against the manifest: a changed or
        corrupted file is never read as if it were the data the manifest describes."""
        path = _safe_child(self._folder(video_id), name, "file", self.path / _MANIFEST)
        digest = self._entry(video_id)["files"].get(name)
        if digest is not None and path.is_file() and sha256_file(path) != digest:
            raise DatasetError(f"{path}: sha256 differs from {self.path / _MANIFEST}; the file changed after "
                               f"it was written (`nanoaq verify {self.path}` lists every such file)")
        return path

    def config(self, video_id: str) -> dict[str, Any]:
        path = self._file(video_id, "config.json")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{path}: not readable JSON ({exc})") from None

    def meta(self, video_id: str) -> VideoMeta:
        try:
            return VideoMeta.from_dict(self.config(video_id)["meta"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{self._folder(video_id) / 'config.json'}: no valid 'meta' ({exc})") from None

    def frames(self, video_id: str, *, max_gb: float = 4.0) -> np.ndarray:
        return _as_video(read_tiff(self._file(video_id, "video.ome.tif"), max_gb=max_gb))

    def labels(self, video_id: str, *, max_gb: float = 4.0) -> np.ndarray:
        return _as_video(read_tiff(self._file(video_id, "labels.ome.tif"), max_gb=max_gb))

    def read_video(self, video_id: str, *, max_gb: float = 4.0) -> Video:
        folder = self._folder(video_id)
        cfg = self.config(video_id)
        potential = read_csv(self._file(video_id, "potential.csv")) if (folder / "potential.csv").is_file() else None
        return Video(
            meta=self.meta(video_id),
            frames=self.frames(video_id, max_gb=max_gb),
            labels=self.labels(video_id, max_gb=max_gb),
            particles=read_csv(self._file(video_id, "particles.csv")),
            tracks=read_csv(self._file(video_id, "tracks.csv")),
            events=read_csv(self._file(video_id, "events.csv")),
            config=cfg.get("config", {}),
            potential=potential,
        )

    def verify(self) -> list[str]:
        """Every file that is missing, differs from its sha256 in the manifest or breaks the schema
        (TIFF shape and dtype), one line each naming the file; empty if the dataset is intact."""
        bad = []
        for entry in self.manifest["videos"]:
            folder = _safe_child(self.path, entry["id"], "video folder", self.path / _MANIFEST)
            missing = sorted(set(_REQUIRED_FILES) - set(entry["files"]))
            if missing:
                bad.append(f"{folder}: {', '.join(missing)} not listed in {_MANIFEST}")
            bad += _verify_files(folder, entry, self.path / _MANIFEST, _TIFF_DTYPES)
        return bad


def open_dataset(path: str | Path) -> Dataset:
    """Open a dataset folder; a missing folder or a manifest not of schema 1 is a DatasetError."""
    path = Path(path)
    manifest_path = path / _MANIFEST
    if not path.is_dir():
        raise DatasetError(f"{path}: no such dataset folder")
    if not manifest_path.is_file():
        hint = " (an interrupted run: run the same simulate command again)" if path.name.endswith(".partial") else ""
        raise DatasetError(f"{path}: no {_MANIFEST}; not a nanoaquarium dataset{hint}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{manifest_path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError(f"{manifest_path}: schema_version must be {SCHEMA_VERSION}")
    videos = manifest.get("videos")
    if not isinstance(videos, list) or not all(isinstance(v, dict) and "id" in v and isinstance(v.get("files"), dict) for v in videos):
        raise DatasetError(f"{manifest_path}: 'videos' must be a list of {{id, files, ...}} entries")
    for v in videos:
        folder = _safe_child(path, v["id"], "video folder", manifest_path)
        for name in v["files"]:
            _safe_child(folder, name, "file", manifest_path)
    return Dataset(path=path, manifest=manifest)


#: Files every video of a dataset has, and the dtypes its TIFFs may have (schema version 1).
_REQUIRED_FILES = ("video.ome.tif", "labels.ome.tif", "particles.csv", "tracks.csv", "events.csv", "config.json")
_TIFF_DTYPES = {"video.ome.tif": ("uint16",), "labels.ome.tif": ("uint16", "uint32")}


def _verify_files(folder: Path, entry: dict, manifest: Path, dtypes: dict[str, tuple[str, ...]]) -> list[str]:
    """Lines naming each file of one manifest entry that is missing, altered or off the schema."""
    bad = []
    for name, digest in sorted(entry["files"].items()):
        path = _safe_child(folder, name, "file", manifest)
        if not path.is_file():
            bad.append(f"{path}: missing")
            continue
        if sha256_file(path) != digest:
            bad.append(f"{path}: sha256 differs from the manifest")
            continue
        if name in dtypes:
            try:
                shape, dtype, _ = tiff_info(path)
            except DatasetError as exc:
                bad.append(str(exc))
                continue
            shape = (1, *shape) if len(shape) == 2 else shape
            if "shape" in entry and list(shape) != list(entry["shape"]):
                bad.append(f"{path}: shape {list(shape)}, expected {entry['shape']} (T, Y, X) as in {manifest.name}")
            elif dtype.name not in dtypes[name]:
                bad.append(f"{path}: dtype {dtype.name}, expected {' or '.join(dtypes[name])}")
    return bad


def _open_predictions_manifest(path: Path) -> dict[str, Any]:
    manifest_path = path / _PRED_MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{manifest_path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("schema_version") != SCHEMA_VERSION \
            or manifest.get("kind") != "predictions":
        raise DatasetError(f"{manifest_path}: expected schema_version {SCHEMA_VERSION} and kind 'predictions'")
    videos = manifest.get("videos")
    if not isinstance(videos, list) or not all(isinstance(v, dict) and isinstance(v.get("files"), dict) for v in videos):
        raise DatasetError(f"{manifest_path}: 'videos' must be a list of {{id, shape, files}} entries")
    return manifest


def verify_folder(path: str | Path) -> tuple[str, list[str]]:
    """Check a dataset or a prediction folder against its manifest and schema.

    Returns
    -------
    kind : ``"dataset"`` (``dataset.json``) or ``"predictions"`` (``predictions.json``)
    bad : one line per file that is missing, whose sha256 differs from the manifest, whose TIFF
        has another shape or dtype than the schema says, or (predictions) a video folder with
        labels that the manifest does not list; empty when everything matches

    Raises
    ------
    DatasetError
        No such folder, neither manifest, or a manifest that is not valid (unsafe names included).
    """
    path = Path(path)
    if path.is_dir() and not (path / _MANIFEST).is_file() and (path / _PRED_MANIFEST).is_file():
        manifest = _open_predictions_manifest(path)
        manifest_path = path / _PRED_MANIFEST
        bad = []
        listed = set()
        for entry in manifest["videos"]:
            folder = _safe_child(path, entry.get("id"), "video folder", manifest_path)
            listed.add(folder.name)
            bad += _verify_files(folder, entry, manifest_path, {"labels.ome.tif": _LABEL_DTYPES})
        for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if sub.name not in listed and any((sub / n).is_file() for n in ("labels.ome.tif", "labels.tif")):
                bad.append(f"{sub}: video folder not listed in {_PRED_MANIFEST}")
        return "predictions", bad
    if path.is_dir() and not (path / _MANIFEST).is_file():
        hint = " (an interrupted run: run the same command again)" if path.name.endswith(".partial") else ""
        raise DatasetError(f"{path}: neither {_MANIFEST} (a dataset) nor {_PRED_MANIFEST} (a prediction folder){hint}")
    return "dataset", open_dataset(path).verify()


# --------------------------------------------------------------------------- predictions


def write_predictions(
    out: str | Path,
    items: Iterable[tuple[str, np.ndarray]],
    *,
    method: str,
    params: dict[str, Any],
    version: str,
    pixel_size_nm: float = 1.0,
    frame_interval_s: float = 1.0,
    dataset_checksum: str | None = None,
) -> Path:
    """Write label videos as ``<out>/<video_id>/labels.ome.tif`` plus ``predictions.json``.

    Written into ``<out>.partial`` and renamed when whole, so a crash leaves no half folder under
    the final name.  ``items`` yields ``(video_id, labels (T, Y, X))``; labels must be
    non-negative integers.  ``dataset_checksum`` (:attr:`Dataset.checksum` of the segmented
    dataset), when given, is recorded so that scoring against another dataset is refused.
    """
    out = Path(out)
    if out.exists():
        raise UserError(f"output folder {out} already exists; choose another --out or remove it")
    if not out.parent.exists():
        raise UserError(f"output folder {out}: parent folder {out.parent} does not exist")
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    try:
        videos = _write_prediction_videos(partial, items, method, pixel_size_nm, frame_interval_s)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    manifest = {"schema_version": SCHEMA_VERSION, "kind": "predictions", "method": method,
                "params": params, "version": version, "videos": videos}
    if dataset_checksum is not None:
        manifest["dataset_checksum"] = dataset_checksum
    write_atomic(partial / _PRED_MANIFEST, json.dumps(manifest, sort_keys=True, indent=2))
    os.replace(partial, out)
    return out


def _write_prediction_videos(partial: Path, items, method: str, pixel_size_nm: float,
                             frame_interval_s: float) -> list[dict]:
    videos = []
    for video_id, labels in items:
        labels = np.asarray(labels)
        if labels.ndim != 3 or not np.issubdtype(labels.dtype, np.integer):
            raise DatasetError(f"method {method}, video {video_id}: returned {labels.dtype} {labels.shape}, expected integer (T, Y, X) labels")
        if labels.size and labels.min() < 0:
            raise DatasetError(f"method {method}, video {video_id}: negative labels")
        folder = partial / video_id
        folder.mkdir()
        path = folder / "labels.ome.tif"
        write_ome_tiff(path, iter(labels), shape=labels.shape, dtype=np.uint32,
                       pixel_size_nm=pixel_size_nm, frame_interval_s=frame_interval_s)
        videos.append({"id": video_id, "shape": list(labels.shape),
                       "files": {"labels.ome.tif": sha256_file(path)}})
    return videos


def read_predictions(path: str | Path, *, max_gb: float = 4.0) -> dict[str, np.ndarray]:
    """Label videos of a prediction folder: ``<video_id>/labels.ome.tif`` (or ``labels.tif``).

    Works with or without ``predictions.json``, so that a method written in any language can
    be scored by laying out its output like a dataset.
    """
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: no such prediction folder")
    out = {}
    for folder in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for name in ("labels.ome.tif", "labels.tif"):
            f = folder / name
            if f.is_file():
                out[folder.name] = _as_video(read_tiff(f, max_gb=max_gb))
                break
    if not out:
        raise DatasetError(f"{path}: no <video_id>/labels.ome.tif (or labels.tif) inside")
    return out
