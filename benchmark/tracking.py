"""Tracks from label videos, and the Cell Tracking Challenge DET and TRA measures.

A method's labels *persist* when a particle keeps its label from frame to frame.  Labels that do
not (most per-frame methods number objects anew in every frame) are linked first by
:func:`link_by_overlap`: objects of consecutive frames are matched one to one by the Hungarian
algorithm on IoU, a match with IoU ≥ ``LINK_MIN_IOU`` continues the track, anything else starts
a new one.  LPEM particles move far less than their size between frames, so overlap is the
natural link.

DET and TRA (AOGM-based, Matula et al., PLoS ONE 2015) are computed by py-ctcmetrics
(``ctc_metrics``, the community's own implementation) on a temporary CTC export.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from pathlib import Path

import numpy as np
import tifffile

from baselines.matching import match
from simulator.ctc import track_table

__all__ = ["LINK_MIN_IOU", "labels_persist", "link_by_overlap", "split_at_gaps", "ctc_det_tra"]

#: Least IoU of a one-to-one match that continues a track.  The project's choice, low on purpose:
#: particles move far less than their size between frames, so a particle keeps a large overlap
#: with itself, and the floor only refuses slight overlaps (a new particle at another's rim).
LINK_MIN_IOU = 0.1


def labels_persist(labels: np.ndarray) -> bool:
    """True when, between consecutive frames, most overlap-matched objects keep their label."""
    same = total = 0
    for t in range(labels.shape[0] - 1):
        m = match(labels[t], labels[t + 1])
        a = np.unique(labels[t][labels[t] > 0])
        b = np.unique(labels[t + 1][labels[t + 1] > 0])
        ok = m.ious >= LINK_MIN_IOU
        same += int((a[m.rows[ok]] == b[m.cols[ok]]).sum())
        total += int(ok.sum())
    return total == 0 or same / total >= 0.5


def link_by_overlap(labels: np.ndarray) -> np.ndarray:
    """Relabel a (T, Y, X) video so that overlapping objects of consecutive frames share a label."""
    out = np.zeros(labels.shape, np.int32)
    next_id = 1
    prev_ids: np.ndarray | None = None
    for t in range(labels.shape[0]):
        ids = np.unique(labels[t][labels[t] > 0])
        new = np.zeros(len(ids), np.int32)
        if prev_ids is not None and len(ids) and len(prev_ids):
            m = match(out[t - 1], labels[t])
            ok = m.ious >= LINK_MIN_IOU
            prev_sorted = np.unique(out[t - 1][out[t - 1] > 0])
            new[m.cols[ok]] = prev_sorted[m.rows[ok]]
        for i in np.flatnonzero(new == 0):
            new[i] = next_id
            next_id += 1
        next_id = max(next_id, int(new.max(initial=0)) + 1)
        lut = np.zeros(int(labels[t].max(initial=0)) + 1, np.int32)
        lut[ids] = new
        out[t] = lut[labels[t]]
        prev_ids = new
    return out


def split_at_gaps(labels: np.ndarray) -> np.ndarray:
    """Give a new label to every reappearance of a label after frames without it.

    CTC track files need each label to live in one contiguous run of frames.
    """
    out = labels.astype(np.int64, copy=True)
    next_id = int(out.max(initial=0)) + 1
    last_seen: dict[int, int] = {}
    remap: dict[int, int] = {}
    for t in range(out.shape[0]):
        for lab in np.unique(labels[t][labels[t] > 0]):
            lab = int(lab)
            if lab in last_seen and last_seen[lab] != t - 1:
                remap[lab] = next_id
                next_id += 1
            last_seen[lab] = t
            if lab in remap:
                out[t][labels[t] == lab] = remap[lab]
    return out


def _write_ctc(folder: Path, labels: np.ndarray, *, gt: bool) -> None:
    folder.mkdir(parents=True)
    for t in range(labels.shape[0]):
        name = f"man_track{t:03d}.tif" if gt else f"mask{t:03d}.tif"
        tifffile.imwrite(folder / name, labels[t].astype(np.uint16))
    rows = track_table(labels)
    (folder / ("man_track.txt" if gt else "res_track.txt")).write_text(
        "".join(f"{l} {b} {e} {p}\n" for l, b, e, p in rows))


def ctc_det_tra(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """DET and TRA of a predicted label video (already linked) against the reference."""
    from ctc_metrics.scripts.evaluate import evaluate_sequence

    if pred.max(initial=0) > 65535 or true.max(initial=0) > 65535 or not true.any():
        return {"det": float("nan"), "tra": float("nan")}  # not defined (CTC needs a reference object)
    if not pred.any():
        return {"det": 0.0, "tra": 0.0}  # nothing detected: AOGM equals that of an empty result
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write_ctc(root / "01_GT" / "TRA", split_at_gaps(true), gt=True)
        _write_ctc(root / "01_RES", split_at_gaps(pred), gt=False)
        # py-ctcmetrics prints its progress and warns about every empty frame (a frame where all
        # particles left the field, or where a method found nothing): both are expected here.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Empty frame", category=UserWarning)
            res = evaluate_sequence(str(root / "01_RES"), str(root / "01_GT"), ["DET", "TRA"], threads=1)
    # py-ctcmetrics answers None when it judges the result folder invalid; that is "not scored".
    return {k.lower(): float("nan") if res[k] is None else float(res[k]) for k in ("DET", "TRA")}
