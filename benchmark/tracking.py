"""Tracks from label videos, and the Cell Tracking Challenge DET and TRA measures.

A method's labels *persist* when a particle keeps its label from frame to frame
(:func:`labels_persist`).  Labels that do not (most per-frame methods number objects anew in
every frame) are linked first by :func:`link_by_overlap`: objects of consecutive frames are
matched one to one by the Hungarian algorithm on IoU, a match with IoU ≥ ``LINK_MIN_IOU``
continues the track, anything else starts a new one.  LPEM particles move far less than their
size between frames, so overlap is the natural link.

DET and TRA (AOGM-based, Matula et al., PLoS ONE 2015) are computed by py-ctcmetrics
(``ctc_metrics``, the community's own implementation) on a temporary CTC export, whose uint16
masks hold the tracks renumbered 1 … n (any ids, up to 65535 tracks).
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from pathlib import Path

import numpy as np
import tifffile
from skimage.segmentation import relabel_sequential

from baselines.matching import match
from simulator.ctc import track_table

__all__ = ["LINK_MIN_IOU", "labels_persist", "link_by_overlap", "split_at_gaps", "ctc_det_tra"]

#: Least IoU of a one-to-one match that continues a track.  The project's choice, low on purpose:
#: particles move far less than their size between frames, so a particle keeps a large overlap
#: with itself, and the floor only refuses slight overlaps (a new particle at another's rim).
LINK_MIN_IOU = 0.1


def labels_persist(labels: np.ndarray) -> bool:
    """True when the labels are track ids, False when they number each frame's objects anew.

    Between consecutive frames objects are matched one to one on overlap (IoU ≥
    ``LINK_MIN_IOU``).  Labels persist when every matched object keeps its label, or when most
    (at least half) do and the labels are not a per-frame numbering, 1 … n_t in every frame (what
    ``skimage.measure.label`` and the project's baselines give).  In such a numbering the labels
    that agree between frames agree by chance (objects keeping their rank), so one changed label
    shows that they carry no identity; true tracks do change label where a merge starts a new
    track, or where the overlap match crosses between touching particles (30 % of the matches of a
    dense growth-coalescence clip), and must not be relinked for it.
    """
    same = total = 0
    per_frame = True
    for t in range(labels.shape[0]):
        ids = np.unique(labels[t][labels[t] > 0])
        per_frame &= ids.size == 0 or (ids[0] == 1 and ids[-1] == ids.size)
        if t + 1 < labels.shape[0]:
            m = match(labels[t], labels[t + 1])
            nxt = np.unique(labels[t + 1][labels[t + 1] > 0])
            ok = m.ious >= LINK_MIN_IOU
            same += int((ids[m.rows[ok]] == nxt[m.cols[ok]]).sum())
            total += int(ok.sum())
    return same == total or (not per_frame and same / total >= 0.5)


def link_by_overlap(labels: np.ndarray) -> np.ndarray:
    """Relabel a (T, Y, X) video so that overlapping objects of consecutive frames share a label
    (1, 2, … in order of appearance; the input's labels may be any non-negative integers)."""
    out = np.zeros(labels.shape, np.int32)
    next_id = 1
    for t in range(labels.shape[0]):
        values, inverse = np.unique(labels[t], return_inverse=True)  # sorted: 0 first if present
        ids = values[values > 0]
        new = np.zeros(len(ids), np.int32)
        if t and len(ids):
            prev_sorted = np.unique(out[t - 1][out[t - 1] > 0])
            if len(prev_sorted):
                m = match(out[t - 1], labels[t])
                ok = m.ious >= LINK_MIN_IOU
                new[m.cols[ok]] = prev_sorted[m.rows[ok]]
        for i in np.flatnonzero(new == 0):
            new[i] = next_id
            next_id += 1
        lut = np.zeros(len(values), np.int32)
        lut[values > 0] = new
        out[t] = lut[inverse.reshape(labels[t].shape)]
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

    if not true.any():
        return {"det": float("nan"), "tra": float("nan")}  # not defined (CTC needs a reference object)
    if not pred.any():
        return {"det": 0.0, "tra": 0.0}  # nothing detected: AOGM equals that of an empty result
    # the CTC's uint16 masks: tracks renumbered 1 … n over the whole video (a track keeps one id)
    true, pred = (relabel_sequential(split_at_gaps(v))[0] for v in (true, pred))
    if max(true.max(), pred.max()) > np.iinfo(np.uint16).max:
        return {"det": float("nan"), "tra": float("nan")}  # more tracks than uint16 masks can hold
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write_ctc(root / "01_GT" / "TRA", true, gt=True)
        _write_ctc(root / "01_RES", pred, gt=False)
        # py-ctcmetrics prints its progress and warns about every empty frame (a frame where all
        # particles left the field, or where a method found nothing): both are expected here.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Empty frame", category=UserWarning)
            res = evaluate_sequence(str(root / "01_RES"), str(root / "01_GT"), ["DET", "TRA"], threads=1)
    # py-ctcmetrics answers None when it judges the result folder invalid; that is "not scored".
    return {k.lower(): float("nan") if res[k] is None else float(res[k]) for k in ("DET", "TRA")}
