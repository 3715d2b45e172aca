"""Metrics with known answers, agreement with py-ctcmetrics, bad predictions, the gate, the report."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import tifffile
from skimage import draw

from benchmark.cli import main
from benchmark.gate import compare
from benchmark.metrics import FRAME_METRICS, frame_metrics, seg_video, video_metrics
from benchmark.results import load_results, save_results
from benchmark.score import check_prediction, score_video
from benchmark.tracking import ctc_det_tra, labels_persist, link_by_overlap, split_at_gaps
from simulator.config import load_config
from simulator.errors import DatasetError, UserError
from simulator.simulate import simulate_video


@pytest.fixture(scope="module")
def video():
    cfg = load_config("brownian-prisms", overrides=["video.frames=3", "video.height_px=96", "video.width_px=96",
                                                    "particles.count=4", "particles.size_nm=16", "dynamics.slowdown=2e-7"])
    return simulate_video(cfg, seed=5)


def _relabel(labels, rng=0):
    ids = np.unique(labels)
    perm = np.random.default_rng(rng).permutation(np.arange(1, 1000))[: len(ids)]
    lut = np.zeros(int(ids.max()) + 1, np.int64)
    lut[ids[ids > 0]] = perm[: (ids > 0).sum()]
    return lut[labels]


def test_perfect_prediction_scores_one_everywhere(video):
    m, f1, linked = score_video(video, video.labels.astype(np.int64), where="v")
    for name in ("iou_pixel", "dice_pixel", "f1@0.5", "precision@0.5", "recall@0.5", "ap@0.5:0.95", "pq",
                 "mean_matched_iou", "seg", "boundary_f1", "det", "tra"):
        assert m[name] == pytest.approx(1.0), name
    assert m["area_rel_error"] == 0 and m["centroid_error_nm"] == 0
    assert f1 == [1.0, 1.0, 1.0] and not linked


def test_relabelling_changes_nothing(video):
    t = video.labels[0].astype(np.int64)
    p = _relabel(t)
    a, b = frame_metrics(t, t), frame_metrics(t, p)
    for k in FRAME_METRICS:
        assert (np.isnan(a[k]) and np.isnan(b[k])) or a[k] == pytest.approx(b[k]), k


def test_a_match_above_one_half_is_kept_against_a_larger_total_iou():
    """Prediction 1 covers 55 px of the 100 px true object 1 and all of the 5 px object 2,
    prediction 2 the other 45 px: the pair (1, 1) has IoU 55/105 = 0.524, but pairing 1 with 2
    and 2 with 1 totals 5/60 + 45/100 = 0.533.  The object matched above 0.5 must count."""
    t = np.zeros((20, 30), np.int64)
    t[0:10, 0:10] = 1            # 100 px
    t[15, 20:25] = 2             # 5 px
    p = np.where(t == 1, 2, 0)
    p[0:5, 0:10] = 1             # 50 px of object 1 ...
    p[5, 0:5] = 1                # ... and 5 more: 55; prediction 2 keeps 45
    p[t == 2] = 1
    m = frame_metrics(t, p)
    assert m["f1@0.5"] == pytest.approx(2 * 1 / (2 + 2))
    assert m["pq"] == pytest.approx((55 / 105) / (1 + 1 / 2 + 1 / 2))
    assert m["mean_matched_iou"] == pytest.approx(55 / 105)


def test_two_discs_with_known_overlap():
    t = np.zeros((40, 60), np.int64)
    p = np.zeros((40, 60), np.int64)
    t[10:30, 10:30] = 1          # 400 px
    p[10:30, 15:35] = 7          # 400 px, 300 shared: IoU 300/500 = 0.6
    m = frame_metrics(t, p)
    assert m["mean_matched_iou"] == pytest.approx(0.6)
    assert m["iou_pixel"] == pytest.approx(0.6) and m["dice_pixel"] == pytest.approx(0.75)
    assert m["f1@0.5"] == 1.0
    assert m["ap@0.5:0.95"] == pytest.approx(3 / 10)  # matched at 0.5, 0.55, 0.6 of ten thresholds
    assert m["pq"] == pytest.approx(0.6)
    assert m["seg"] == pytest.approx(0.6)  # the prediction covers 75 % (> half) of the reference
    assert m["centroid_error_nm"] == pytest.approx(5.0)


def test_an_empty_frame_found_empty_is_perfect_for_every_instance_metric():
    v = np.zeros((2, 20, 20), np.int64)
    v[1, 5:10, 5:10] = 1  # frame 0 before nucleation, one particle in frame 1
    per, _ = video_metrics(v, v.copy())
    for name in ("f1@0.5", "ap@0.5:0.95", "pq", "mean_matched_iou"):
        assert [p[name] for p in per] == [1.0, 1.0], name  # mean_matched_iou was 0.0 on frame 0
    # objects on one side only: nothing recovered, 0 for all four
    for a, b in ((v, np.zeros_like(v)), (np.zeros_like(v), v)):
        per, _ = video_metrics(a, b)
        assert [per[1][n] for n in ("f1@0.5", "ap@0.5:0.95", "pq", "mean_matched_iou")] == [0.0] * 4


def test_seg_det_tra_agree_with_py_ctcmetrics(video, tmp_path):
    from ctc_metrics.scripts.evaluate import evaluate_sequence

    from benchmark.tracking import _write_ctc

    true = video.labels.astype(np.int64)
    pred = true.copy()
    pred[1][pred[1] == pred[1].max()] = 0                      # a miss in frame 1 (a gap in its track)
    pred[2] = np.where(pred[2] > 0, pred[2], 0)
    pred[2][draw.disk((10, 10), 4, shape=pred[2].shape)] = 99  # a false detection
    gt = tmp_path / "01_GT"
    _write_ctc(gt / "TRA", true, gt=True)
    (gt / "SEG").mkdir()
    for t in range(true.shape[0]):
        tifffile.imwrite(gt / "SEG" / f"man_seg{t:03d}.tif", true[t].astype(np.uint16))
    _write_ctc(tmp_path / "01_RES", split_at_gaps(pred), gt=False)
    ref = evaluate_sequence(str(tmp_path / "01_RES"), str(gt), ["SEG", "DET", "TRA"], threads=1)
    assert seg_video(true, pred) == pytest.approx(ref["SEG"], abs=1e-12)
    assert score_video(video, pred, where="v")[0]["seg"] == pytest.approx(ref["SEG"], abs=1e-12)
    got = ctc_det_tra(true, pred)
    assert got["det"] == pytest.approx(ref["DET"]) and got["tra"] == pytest.approx(ref["TRA"])


def test_per_frame_labels_are_linked_into_tracks(video):
    true = video.labels.astype(np.int64)
    shuffled = np.stack([_relabel(true[t], rng=t) for t in range(true.shape[0])])
    assert labels_persist(true) and not labels_persist(shuffled)
    linked = link_by_overlap(shuffled)
    assert ctc_det_tra(true, linked)["tra"] == pytest.approx(1.0)


def _squares(T=4):
    """Four 10-px squares drifting down one pixel a frame, labels 1 … 4 in every frame."""
    true = np.zeros((T, 64, 64), np.int64)
    for t in range(T):
        for i, (y, x) in enumerate([(5, 5), (5, 40), (40, 5), (40, 40)]):
            true[t, y + t:y + t + 10, x:x + 10] = i + 1
    return true


def test_a_per_frame_numbering_is_linked_even_where_most_labels_agree():
    true = _squares()
    pred = true.copy()
    for t in (1, 3):  # numbered anew in every frame: 3 and 4 swap ranks in odd frames
        pred[t][true[t] == 3], pred[t][true[t] == 4] = 4, 3
    assert not labels_persist(pred)  # half the matches keep their label: was taken as tracks, TRA 0.916
    assert ctc_det_tra(true, link_by_overlap(pred))["tra"] == pytest.approx(1.0)
    # Track ids change label where a merge starts a new track: still tracks, not relinked.
    lineage = np.where(true > 2, true + 2, true)  # ids 1, 2, 5, 6
    lineage[3][(true[3] == 1) | (true[3] == 2)] = 7  # 1 and 2 merge into 7
    assert labels_persist(lineage)


def test_track_ids_beyond_uint16_are_scored(video):
    true = video.labels.astype(np.int64)
    big = np.where(true > 0, true + 70000, 0)  # persistent ids past the CTC's uint16 masks
    assert ctc_det_tra(true, big) == {"det": 1.0, "tra": 1.0}  # was NaN
    assert ctc_det_tra(big, true) == {"det": 1.0, "tra": 1.0}


def test_huge_per_frame_ids_are_linked_without_a_table_the_size_of_the_largest(video):
    true = video.labels.astype(np.int64)
    t = np.arange(true.shape[0])[:, None, None]
    huge = np.where(true > 0, (t + 1) * 10**10 + true, 0)  # a new id for every object of every frame
    m, _, linked = score_video(video, huge, where="v")  # was a MemoryError (a 3·10¹⁰-entry table)
    assert linked and m["tra"] == pytest.approx(1.0) and m["f1@0.5"] == 1.0
    np.testing.assert_array_equal(link_by_overlap(huge) > 0, true > 0)


@pytest.mark.parametrize("mutate,expected", [
    (lambda p: p[:, :-1], "prediction has shape"),
    (lambda p: p.astype(float), "labels are float64"),
    (lambda p: np.where(np.arange(p.shape[0])[:, None, None] == 2, np.nan, p), "frame 2: NaN"),
    (lambda p: -p, "frame 0: negative labels"),
])
def test_bad_predictions_are_named(video, mutate, expected):
    with pytest.raises(DatasetError, match=expected):
        check_prediction(mutate(video.labels.astype(np.int64)), video, where="video_000")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    import os

    os.environ["NANOAQ_CACHE"] = str(root / "cache")
    assert main(["bench", "--suite", "quick", "--methods", "otsu,sauvola", "--out", str(root / "r.json"), "--quiet"]) == 0
    return root


def test_bench_results_schema_and_gate(quick, capsys, tmp_path):
    runs = load_results(quick / "r.json")
    assert [r.method.name for r in runs] == ["otsu", "sauvola"]
    r = runs[0]
    assert r.suite.name == "lpem-bench" and len(r.suite.checksum) == 64
    assert {"scenario:brownian-prisms", "overall:all"} <= set(r.aggregates)
    assert len(r.videos) == 15 and r.videos[0].seconds_per_frame > 0
    assert compare(r, r) == []
    worse = copy.deepcopy(r)
    worse.aggregates["overall:all"]["f1@0.5"] -= 0.05
    bad = compare(worse, r, tolerance=0.01)
    assert [(b.group, b.metric) for b in bad] == [("overall:all", "f1@0.5")]
    for tolerance in (float("nan"), float("inf"), -1.0):  # would pass everything, or fail the reference itself
        with pytest.raises(UserError, match="expected a finite number >= 0"):
            compare(worse, r, tolerance=tolerance)
    # Errors are lower-is-better: a grown error is a regression, a shrunk one is not.
    ref, cur = copy.deepcopy(r), copy.deepcopy(r)
    for name, (a, b) in {"diffusion_rel_error": (0.1, 0.3), "potential_rel_error": (0.5, 0.2),
                         "centroid_error_nm": (1.0, 1.5)}.items():
        ref.aggregates["overall:all"][name], cur.aggregates["overall:all"][name] = a, b
    assert sorted(b.metric for b in compare(cur, ref)) == ["centroid_error_nm", "diffusion_rel_error"]
    # The command-line gate: the same results pass (exit 0); a better reference fails (exit 1).
    assert main(["bench", "--suite", "quick", "--methods", "otsu", "--out", str(tmp_path / "a.json"),
                 "--gate", str(quick / "r.json"), "--quiet"]) == 0
    data = json.loads((quick / "r.json").read_text())
    data["runs"][0]["aggregates"]["scenario:etching-rods"]["seg"] += 0.2
    (tmp_path / "better.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["bench", "--suite", "quick", "--methods", "otsu", "--out", str(tmp_path / "b.json"),
                 "--gate", str(tmp_path / "better.json"), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "scenario:etching-rods" in out and "seg" in out


def test_results_that_cannot_be_written_leave_no_temporary_file(tmp_path, monkeypatch):
    (tmp_path / "r.json").mkdir()  # a folder where the file should go: refused before writing
    with pytest.raises(UserError, match=r"r.json: is a folder; expected a results file, e.g. \S+results.json$"):
        save_results([], tmp_path / "r.json")
    with pytest.raises(UserError, match=r"^--out \S+r.json: folder \S+no does not exist$"):
        save_results([], tmp_path / "no" / "r.json")

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("simulator.outfile.os.replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        save_results([], tmp_path / "s.json")
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_report_renders(quick, tmp_path, renamed):
    assert main(["report", str(quick / "r.json"), "--out", str(tmp_path / "rep")]) == 0
    written = sorted((tmp_path / "rep").iterdir())
    assert {"report.html", "report.md"} < {p.name for p in written}
    assert written == sorted(set(renamed)), "a file of the report was written in place, not whole"
    page = (tmp_path / "rep" / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 5 and "Leaderboard" in page
    md = (tmp_path / "rep" / "report.md").read_text()
    for line in md.splitlines():
        if line.startswith("!["):
            assert (tmp_path / "rep" / line.split("(")[1].rstrip(")")).is_file()


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """Two small brownian-prisms videos (``gt``), otsu's predictions (``p``) and their ``r.json``."""
    root = tmp_path_factory.mktemp("scored")
    assert main(["simulate", "--preset", "brownian-prisms", "--frames", "2", "--size", "96", "--videos", "2",
                 "--quiet", "--workers", "1", "--out", str(root / "gt")]) == 0
    assert main(["segment", "--method", "otsu", "--in", str(root / "gt"), "--out", str(root / "p"), "--quiet"]) == 0
    assert main(["score", "--gt", str(root / "gt"), "--pred", str(root / "p"), "--out", str(root / "r.json"),
                 "--quiet", "--workers", "1"]) == 0
    return root


def test_report_refuses_a_file_as_its_folder(scored, tmp_path, capsys):
    target = tmp_path / "report"
    target.write_text("keep")
    capsys.readouterr()
    assert main(["report", str(scored / "r.json"), "--out", str(target)]) == 2  # was a FileExistsError traceback
    err = capsys.readouterr().err
    assert err == f"nanoaq: error: --out {target}: is a file; expected a folder for the report\n"
    assert target.read_text() == "keep" and list(tmp_path.iterdir()) == [target]


def test_report_names_a_missing_prediction_and_writes_nothing(scored, tmp_path, capsys, monkeypatch):
    import shutil

    shutil.copytree(scored / "p", tmp_path / "p")
    data = json.loads((scored / "r.json").read_text())
    data["runs"][0]["predictions"] = str(tmp_path / "p")
    (tmp_path / "r.json").write_text(json.dumps(data))
    rep = tmp_path / "rep"
    assert main(["report", str(tmp_path / "r.json"), "--out", str(rep)]) == 0
    before = {f.name: f.read_bytes() for f in rep.iterdir()}
    assert {"tasks_p.png", "worst_p.png", "report.html"} <= set(before)
    shutil.rmtree(tmp_path / "p" / "video_001")
    capsys.readouterr()
    for out in (rep, tmp_path / "new"):  # was a KeyError after the dose figures and tasks_p.png were written
        assert main(["report", str(tmp_path / "r.json"), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err == (f"nanoaq: error: {tmp_path / 'p'}: no prediction for video video_001 (video_001/labels.ome.tif "
                       f"or labels.tif), which {tmp_path / 'r.json'} scored\n")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["p", "r.json", "rep"]
    assert {f.name: f.read_bytes() for f in rep.iterdir()} == before
    # A failure while the figures are drawn leaves no file either: they go to a temporary folder first.
    shutil.copytree(scored / "p" / "video_001", tmp_path / "p" / "video_001")

    def broken(*args):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr("benchmark.report._gallery", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        main(["report", str(tmp_path / "r.json"), "--out", str(tmp_path / "new")])
    assert sorted(f.name for f in tmp_path.iterdir()) == ["p", "r.json", "rep"]


def test_score_command_and_missing_video(tmp_path, capsys):
    assert main(["simulate", "--preset", "brownian-prisms", "--frames", "2", "--size", "128", "--videos", "2",
                 "--quiet", "--workers", "1", "--out", str(tmp_path / "gt")]) == 0
    assert main(["segment", "--method", "otsu", "--in", str(tmp_path / "gt"), "--out", str(tmp_path / "p"), "--quiet"]) == 0
    assert main(["score", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "p"), "--out",
                 str(tmp_path / "r.json"), "--quiet"]) == 0
    assert load_results(tmp_path / "r.json")[0].videos[1].video_id == "video_001"
    import shutil

    shutil.rmtree(tmp_path / "p" / "video_001")
    capsys.readouterr()
    assert main(["score", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "p"), "--out",
                 str(tmp_path / "r2.json"), "--quiet"]) == 2
    assert "no prediction for video video_001" in capsys.readouterr().err
    assert not (tmp_path / "r2.json").exists()


def test_diffusion_recovery_perfect_and_degraded():
    from benchmark.physics import diffusion_rel_error, track_diffusion

    cfg = load_config("brownian-prisms", overrides=[
        "dynamics.model='brownian'", "video.frames=30", "video.height_px=96", "video.width_px=96",
        "particles.count=4", "particles.shapes={sphere=1.0}", "particles.size_nm=12", "dynamics.slowdown=1e-5"])
    video = simulate_video(cfg, seed=8)
    true = video.labels.astype(np.int64)
    assert diffusion_rel_error(video, true) == 0.0
    # The estimator on the true labels recovers the simulated D (within sampling error, ~116 steps).
    d = track_diffusion(true, pixel_size_nm=1.0, frame_interval_s=cfg.imaging.frame_interval_s)
    assert d == pytest.approx(video.particles[0]["D_nm2_s"], rel=0.35)
    # Jittering every label by 6 px every other frame adds 36 nm² per step, ~90 nm²/s of spurious
    # diffusion on a true D of ~250 nm²/s: the error grows.
    jitter = np.stack([np.roll(true[t], (t % 2) * 6, axis=1) for t in range(true.shape[0])])
    assert diffusion_rel_error(video, jitter) > 0.1


def test_every_method_of_a_report_has_its_own_line_style():
    from benchmark.report import _line_styles

    names = [f"m{i}" for i in range(25)]
    styles = _line_styles(names)
    assert len({tuple(sorted(s.items())) for s in styles.values()}) == 25
    assert styles["m0"] != styles["m10"] and styles["m0"]["color"] == styles["m10"]["color"]
