"""Export a dataset in the Cell Tracking Challenge (CTC) layout.

For the ``i``-th video (sequence ``NN = i + 1``, two digits)::

    NN/tTTT.tif                    the recorded frames (uint16)
    NN_GT/SEG/man_segTTT.tif       instance labels of every frame (uint16)
    NN_GT/TRA/man_trackTTT.tif     the same labels (every particle is a track marker)
    NN_GT/TRA/man_track.txt        "L B E P": label, first frame, last frame, parent
    NN_RES/maskTTT.tif, res_track.txt   (with ``with_result=True``) the ground truth written as
                                   a perfect result, so the CTC tools can check the export

CTC lineage is a tree of divisions: a track has at most one parent.  A track born from one
parent (a split) gets that parent; a merge product of several parents gets ``P = 0`` in
``man_track.txt`` (its parents stay in ``tracks.csv``).  Track ids above 65535 cannot be
written as CTC's uint16 masks and are an error.  See http://celltrackingchallenge.net/datasets/
("Annotations" section) for the format.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import tifffile

from .dataset import Dataset, open_dataset
from .errors import DatasetError, UserError

__all__ = ["export_ctc", "track_table"]


def track_table(labels: np.ndarray, parents: dict[int, list[int]] | None = None) -> list[tuple[int, int, int, int]]:
    """``(L, B, E, P)`` rows of CTC's ``man_track.txt`` from a label video ``(T, Y, X)``."""
    parents = parents or {}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in range(labels.shape[0]):
        for lab in np.unique(labels[t]):
            lab = int(lab)
            if lab == 0:
                continue
            first.setdefault(lab, t)
            last[lab] = t
    rows = []
    for lab in sorted(first):
        ps = parents.get(lab, [])
        rows.append((lab, first[lab], last[lab], ps[0] if len(ps) == 1 else 0))
    return rows


def _parse_parents(tracks: list[dict]) -> dict[int, list[int]]:
    out = {}
    for row in tracks:
        text = str(row.get("parents", "")).strip()
        out[int(row["id"])] = [int(p) for p in text.split()] if text else []
    return out


def export_ctc(dataset: str | Path, out: str | Path, *, with_result: bool = False) -> Path:
    """Write the CTC layout of ``dataset`` into ``out`` (atomically: ``out.partial`` then rename)."""
    ds = open_dataset(dataset)
    out = Path(out)
    if out.exists():
        raise UserError(f"output folder {out} already exists; choose another --out or remove it")
    if len(ds.video_ids) > 99:
        raise UserError(f"{ds.path}: {len(ds.video_ids)} videos; the CTC layout numbers at most 99 sequences")
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    try:
        _write_sequences(ds, partial, with_result)
    except BaseException:  # a corrupt video or an interruption: no half-written layout left behind
        shutil.rmtree(partial, ignore_errors=True)
        raise
    os.replace(partial, out)
    return out


def _write_sequences(ds: Dataset, partial: Path, with_result: bool) -> None:
    """Every video of ``ds`` as one CTC sequence under ``partial``."""
    for i, vid in enumerate(ds.video_ids):
        video = ds.read_video(vid)
        if video.labels.size and int(video.labels.max()) > np.iinfo(np.uint16).max:
            raise DatasetError(f"{ds.path / vid}: track ids above 65535 do not fit CTC's uint16 masks")
        seq = f"{i + 1:02d}"
        T = video.frames.shape[0]
        ndig = max(3, len(str(T - 1)))
        dirs = {k: partial / p for k, p in
                {"raw": seq, "seg": f"{seq}_GT/SEG", "tra": f"{seq}_GT/TRA", "res": f"{seq}_RES"}.items()}
        for key, d in dirs.items():
            if key != "res" or with_result:
                d.mkdir(parents=True)
        labels16 = video.labels.astype(np.uint16)
        for t in range(T):
            name = f"{t:0{ndig}d}"
            tifffile.imwrite(dirs["raw"] / f"t{name}.tif", video.frames[t])
            tifffile.imwrite(dirs["seg"] / f"man_seg{name}.tif", labels16[t])
            tifffile.imwrite(dirs["tra"] / f"man_track{name}.tif", labels16[t])
            if with_result:
                tifffile.imwrite(dirs["res"] / f"mask{name}.tif", labels16[t])
        rows = track_table(video.labels, _parse_parents(video.tracks))
        text = "".join(f"{l} {b} {e} {p}\n" for l, b, e, p in rows)
        (dirs["tra"] / "man_track.txt").write_text(text)
        if with_result:
            (dirs["res"] / "res_track.txt").write_text(text)
