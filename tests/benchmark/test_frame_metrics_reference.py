"""Every per-frame metric against a reference written from the libraries and the definitions
(scikit-image's contingency table and ``regionprops``, SciPy's ``linear_sum_assignment``,
``find_boundaries`` and the Euclidean distance transform), on random frames and edge cases, with
both engines."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from skimage import draw
from skimage.measure import regionprops
from skimage.metrics import contingency_table
from skimage.segmentation import find_boundaries

from benchmark.metrics import BOUNDARY_TOL_NM, FRAME_METRICS, frame_metrics
from benchmark.overlap import ENGINES


def _reference(true: np.ndarray, pred: np.ndarray, px: float) -> dict[str, float]:
    t_ids, p_ids = np.unique(true[true > 0]), np.unique(pred[pred > 0])
    nt, npr = len(t_ids), len(p_ids)
    inter = contingency_table(true, pred).tocsr()[t_ids][:, p_ids].toarray().astype(float)
    area_t, area_p = (true[..., None] == t_ids).sum((0, 1)), (pred[..., None] == p_ids).sum((0, 1))
    union = area_t[:, None] + area_p[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    rows, cols = linear_sum_assignment(iou, maximize=True) if iou.size else (np.zeros(0, int),) * 2
    keep = iou[rows, cols] > 0
    rows, cols, ious = rows[keep], cols[keep], iou[rows, cols][keep]
    tp = lambda th: int((ious >= th).sum())  # noqa: E731
    fg_t, fg_p = true > 0, pred > 0
    u, s = (fg_t | fg_p).sum(), fg_t.sum() + fg_p.sum()
    i = (fg_t & fg_p).sum()
    both_empty = nt == 0 and npr == 0
    out = {
        "iou_pixel": 1.0 if u == 0 else i / u, "dice_pixel": 1.0 if s == 0 else 2 * i / s,
        "f1@0.5": 1.0 if nt + npr == 0 else 2 * tp(0.5) / (nt + npr),
        "precision@0.5": (1.0 if nt == 0 else 0.0) if npr == 0 else tp(0.5) / npr,
        "recall@0.5": 1.0 if nt == 0 else tp(0.5) / nt,
        "ap@0.5:0.95": 1.0 if both_empty else float(np.mean(
            [tp(th) / (nt + npr - tp(th)) for th in np.round(np.arange(0.5, 0.951, 0.05), 2)])),
        "mean_matched_iou": 1.0 if both_empty else (float(ious[ious >= 0.5].mean()) if (ious >= 0.5).any() else 0.0),
    }
    good = ious > 0.5
    denom = good.sum() + 0.5 * (npr - good.sum()) + 0.5 * (nt - good.sum())
    out["pq"] = 1.0 if both_empty else (float(ious[good].sum() / denom) if denom > 0 else 0.0)
    # CTC SEG: the prediction covering more than half of each reference object.
    js = []
    for k in range(nt):
        j = 0.0
        for m in range(npr):
            if inter[k, m] > 0.5 * area_t[k]:
                j = inter[k, m] / union[k, m]
        js.append(j)
    out["seg"] = float(np.mean(js)) if nt else float("nan")
    bt, bp = find_boundaries(true, mode="inner"), find_boundaries(pred, mode="inner")
    tol = BOUNDARY_TOL_NM / px
    if not bt.any() and not bp.any():
        out["boundary_f1"] = 1.0
    elif not bt.any() or not bp.any():
        out["boundary_f1"] = 0.0
    else:
        prec = (ndimage.distance_transform_edt(~bt)[bp] <= tol).mean()
        rec = (ndimage.distance_transform_edt(~bp)[bt] <= tol).mean()
        out["boundary_f1"] = 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)
    pairs = [(rows[k], cols[k]) for k in range(len(rows)) if ious[k] >= 0.5]
    if pairs:
        rt, rp = regionprops(true), regionprops(pred)
        a = [abs(rp[c].area - rt[r].area) / rt[r].area for r, c in pairs]
        d = [np.hypot(*np.subtract(rt[r].centroid, rp[c].centroid)) * px for r, c in pairs]
        o = []
        for r, c in pairs:
            if rt[r].eccentricity > 0.6:
                e = abs(rt[r].orientation - rp[c].orientation) % np.pi
                o.append(min(e, np.pi - e))
        out.update(area_rel_error=np.mean(a), centroid_error_nm=np.mean(d),
                   orientation_error_rad=np.mean(o) if o else np.nan)
    else:
        out.update(area_rel_error=np.nan, centroid_error_nm=np.nan, orientation_error_rad=np.nan)
    return out


def _scene(seed: int, shape=(64, 72), n: int = 9, touching: bool = False) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    true = np.zeros(shape, np.int64)
    pred = np.zeros(shape, np.int64)
    for _ in range(n):
        c = g.uniform(4, shape[0] - 4), g.uniform(4, shape[1] - 4)
        r = g.uniform(3, 9 if touching else 6)
        rot = g.uniform(-3, 3)
        true[draw.ellipse(*c, r, 1.8 * r, shape=shape, rotation=rot)] = g.integers(1, 15_000)
        if g.random() < 0.8:
            cc = c[0] + g.normal(0, 1.5), c[1] + g.normal(0, 1.5)
            pred[draw.ellipse(*cc, r * g.uniform(0.8, 1.2), 1.8 * r, shape=shape, rotation=rot + g.normal(0, 0.2))] \
                = g.integers(1, 15_000)
    pred[draw.disk((2, 2), 2, shape=shape)] = 15_001  # a false detection
    # ids up to 15 001 < 4·64·72 + 1024: sequential_lut's own table, not its scikit-image fallback
    return true, pred


def _cases():
    z = np.zeros((20, 24), np.int64)
    one = z.copy()
    one[draw.ellipse(10, 12, 4, 8, rotation=0.3)] = 17
    moved = np.roll(one, (1, 2), (0, 1)) * 3
    far = np.roll(one, 10, 1)  # one object each, not overlapping: no match
    yield "both empty", z, z
    yield "empty truth", z, one
    yield "empty prediction", one, z
    yield "one object, exact", one, one
    yield "one object, moved", one, moved
    yield "no overlap", one, far
    yield "one object, half covered", one, np.where(np.arange(24) < 12, one, 0)
    for s in range(3):
        yield f"random {s}", *_scene(s)
        yield f"touching {s}", *_scene(10 + s, touching=True, n=14)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("px", [0.5, 1.0])
@pytest.mark.parametrize("name,true,pred", list(_cases()), ids=[c[0] for c in _cases()])
def test_frame_metrics_equal_reference(name, true, pred, px, engine):
    got = frame_metrics(true, pred, pixel_size_nm=px, engine=engine)
    expected = _reference(true, pred, px)
    assert set(got) == set(FRAME_METRICS)
    for k in FRAME_METRICS:
        assert got[k] == pytest.approx(expected[k], abs=1e-10, nan_ok=True), k


@pytest.mark.parametrize("engine", ENGINES)
def test_video_metrics_equal_frame_metrics_and_seg_video(engine):
    from benchmark.metrics import seg_video, video_metrics

    frames = [c[1:] for c in _cases()]  # includes frames without reference objects
    true = np.stack([np.pad(t, ((0, 64 - t.shape[0]), (0, 72 - t.shape[1]))) for t, _ in frames])
    pred = np.stack([np.pad(p, ((0, 64 - p.shape[0]), (0, 72 - p.shape[1]))) for _, p in frames])
    per, seg = video_metrics(true, pred, pixel_size_nm=0.7, engine=engine)
    assert len(per) == len(frames)
    for t, m in enumerate(per):
        expected = frame_metrics(true[t], pred[t], pixel_size_nm=0.7, engine=engine)
        assert m.keys() == expected.keys()
        assert all(m[k] == expected[k] or (np.isnan(m[k]) and np.isnan(expected[k])) for k in m)  # exactly
    assert seg == seg_video(true, pred, engine=engine)
    assert np.isnan(video_metrics(true[:1], pred[:1], engine=engine)[1])  # no reference object at all
    with pytest.raises(ValueError, match="same shape"):
        video_metrics(true, pred[:, :-1], engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_frame_metrics_ignore_byte_order_and_memory_layout(engine):
    true, pred = _scene(5)  # prediction ids up to 15 001: the lookup-table path
    expected = frame_metrics(true, pred, engine=engine)
    big = pred.copy()
    big[big > 0] += 10**9  # ids beyond the table: scikit-image's relabel_sequential path
    for t, p in [(np.asfortranarray(true), np.asfortranarray(pred)), (true.astype(">u4"), pred.astype(">i8")),
                 (np.repeat(true, 2, axis=1)[:, ::2], pred.astype(np.uint32)), (true.astype(">i8"), big.astype(">i8"))]:
        assert frame_metrics(t, p, engine=engine) == pytest.approx(expected, abs=0, nan_ok=True)
