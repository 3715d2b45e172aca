"""Tiled inference matches untiled inference; any frame size; the segment() method."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from simulator.errors import UserError
from baselines.registry import validate_params
from benchmark.cli import main
from simulator.video import VideoMeta
from unet.infer import predict_logits
from unet.io import save_model
from unet.method import segment
from unet.model import UNet
from unet.postprocess import instances_from_probabilities


def _model() -> UNet:
    torch.manual_seed(1)
    return UNet(in_channels=3, depth=2, base_width=4, norm="group").eval()


def _video(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(0).integers(100, 2000, shape).astype(np.uint16)


def test_tiled_equals_untiled_when_one_tile_fits() -> None:
    model, video = _model(), _video((3, 64, 64))
    direct = list(predict_logits(video, model, particles_bright=False, tile=64, overlap=16, margin=0))
    from unet.normalize import normalize_frames
    x = normalize_frames(video, particles_bright=False)
    with torch.inference_mode():
        ref = model(torch.from_numpy(np.stack([x[0], x[0], x[1]]))[None])[0].numpy()
    np.testing.assert_allclose(direct[0], ref, atol=1e-5)


def test_margin_is_the_mirror_image_cropped_back() -> None:
    model, video = _model(), _video((2, 48, 64))
    out = list(predict_logits(video, model, particles_bright=False, tile=128, margin=8))
    from unet.normalize import normalize_frames
    x = np.pad(normalize_frames(video, particles_bright=False), ((0, 0), (8, 8), (8, 8)), mode="reflect")
    with torch.inference_mode():
        ref = model(torch.from_numpy(np.stack([x[0], x[1], x[1]]))[None])[0].numpy()
    assert out[1].shape == (2, 48, 64)
    np.testing.assert_allclose(out[1], ref[:, 8:-8, 8:-8], atol=1e-5)


def test_overlapping_tiles_blend_close_to_whole_frame() -> None:
    model, video = _model(), _video((1, 96, 96))
    whole = next(predict_logits(video, model, particles_bright=True, tile=96, margin=0))
    tiled = next(predict_logits(video, model, particles_bright=True, tile=48, overlap=16, batch=3, margin=0))
    inner = (slice(None), slice(8, -8), slice(8, -8))
    assert np.abs(whole - tiled)[inner].mean() < 0.25 * whole.std()


@pytest.mark.parametrize("shape", [(2, 37, 51), (1, 130, 67), (1, 5, 9)])
def test_odd_sizes(shape: tuple[int, int, int]) -> None:
    out = list(predict_logits(_video(shape), _model(), particles_bright=False, tile=32, overlap=8))
    assert len(out) == shape[0] and all(o.shape == (2, *shape[1:]) for o in out)
    assert all(np.isfinite(o).all() for o in out)


def test_segment_with_model_path(tmp_path: Path) -> None:
    save_model(tmp_path / "m", _model(), {"postprocess": {"threshold": 0.5, "boundary_threshold": 0.5,
                                                          "min_area_px": 4}})
    meta = VideoMeta("v", (2, 40, 40), 1.0, 0.1)
    labels = segment(_video((2, 40, 40)), meta, model=str(tmp_path / "m"), tile=32, overlap=8)
    assert labels.shape == (2, 40, 40) and labels.dtype == np.int32 and labels.min() >= 0
    labels2 = segment(_video((2, 40, 40)), meta, model=_model(), tile=32, overlap=8)
    assert labels2.shape == (2, 40, 40)


_NO_SUCH_GPU = f"cuda:{torch.cuda.device_count()}"


@pytest.mark.parametrize(("params", "message"), [
    ({"tile": 0}, "parameter 'tile' = 0 is not allowed; expected an integer >= 1"),
    ({"batch": 0}, "parameter 'batch' = 0 is not allowed; expected an integer >= 1"),
    ({"overlap": -40, "tile": 32}, "parameter 'overlap' = -40 is not allowed; expected an integer >= 0"),
    ({"margin": -3}, "parameter 'margin' = -3 is not allowed; expected an integer >= 0"),
    ({"tile": True}, "parameter 'tile' = True is not allowed"),
    ({"tta": "false"}, "parameter 'tta' = 'false' is not allowed; expected true or false"),
    ({"device": "tpu"}, "parameter 'device' = 'tpu': expected cpu, cuda or cuda:N"),
    ({"device": "cuda:abc"}, "parameter 'device' = 'cuda:abc': expected cpu, cuda or cuda:N"),
    ({"device": _NO_SUCH_GPU}, f"parameter 'device' = '{_NO_SUCH_GPU}': "
                               + ("torch sees" if torch.cuda.is_available() else "no CUDA GPU is available to torch")),
])
def test_segment_refuses_parameters_out_of_range(params: dict, message: str) -> None:
    """Once tracebacks from range() or torch, or (a negative overlap) tiles with gaps between them
    and NaN logits in the gaps."""
    meta = VideoMeta("v", (1, 40, 40), 1.0, 0.1)
    with pytest.raises(UserError, match=re.escape(f"method unet: {message}")):
        segment(_video((1, 40, 40)), meta, model=_model(), **params)
    with pytest.raises(UserError, match="method unet: parameter"):  # the check the CLI runs first
        validate_params(segment, params, method="unet")


@pytest.mark.parametrize(("params", "message"), [
    ('{"tile": 0}', "method unet: parameter 'tile' = 0 is not allowed"),
    ('{"model": "no_such"}', "method unet: parameter 'model': model no_such: not found; expected a MODELDIR"),
    ('{"model": 3}', "method unet: parameter 'model' = 3 is not allowed; expected a MODELDIR or .safetensors path"),
])
def test_bench_refuses_a_bad_unet_parameter_before_generating_the_suite(tmp_path, capsys, monkeypatch, params,
                                                                        message) -> None:
    def generate(*args, **kwargs):
        raise AssertionError("the suite was generated before the parameters were checked")

    monkeypatch.setattr("benchmark.suite.generate_suite", generate)
    assert main(["bench", "--methods", "unet", "--params", params, "--out", str(tmp_path / "r.json"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_check_params_reads_the_model_config_but_not_its_weights(tmp_path, monkeypatch) -> None:
    import unet.io

    save_model(tmp_path / "m", _model(), {"postprocess": {"threshold": "0.5"}})
    save_model(tmp_path / "ok", _model(), {})

    def load_file(*args, **kwargs):
        raise AssertionError("the weights were read")

    monkeypatch.setattr(unet.io, "load_file", load_file)
    validate_params(segment, {"model": str(tmp_path / "ok")}, method="unet")
    validate_params(segment, {"model": None}, method="unet")  # the shipped model
    with pytest.raises(UserError, match=re.escape(f"method unet: parameter 'model': model config "
                                                  f"{tmp_path / 'm' / 'model.json'}: postprocess.threshold")):
        validate_params(segment, {"model": str(tmp_path / "m")}, method="unet")


def test_segment_cuts_an_overlap_beyond_half_a_tile() -> None:
    """Overlaps from 0 up to (and past) the tile size leave no pixel without a tile."""
    meta = VideoMeta("v", (1, 70, 70), 1.0, 0.1)
    for overlap in (0, 16, 32, 100):
        logits = next(predict_logits(_video((1, 70, 70)), _model(), particles_bright=False, tile=32, overlap=overlap))
        assert np.isfinite(logits).all(), overlap
    assert segment(_video((1, 70, 70)), meta, model=_model(), tile=32, overlap=100).shape == (1, 70, 70)


def test_mirrored_crop_extends_input_and_labels_alike() -> None:
    from unet.data import mirrored_crop

    labels = np.zeros((8, 8), np.int32)
    labels[2:5, 0:3] = 7  # a particle cut by the left edge
    labels[2:5, 5:7] = 9  # and one near the right edge, not on it
    stack = np.stack([labels.astype(np.float32) * 0.1, labels.astype(np.float32) * 0.2])
    x, y, lab = mirrored_crop(stack, labels, crop=16, margin=4, rng=np.random.default_rng(0))
    assert x.shape == (2, 16, 16) and y.shape == (2, 16, 16) and lab.shape == (16, 16)
    full = np.pad(labels, ((4, 4), (4, 4)), mode="reflect")  # 4 px of mirror image: the whole crop
    np.testing.assert_allclose(x[0] * 10, full)  # the input is the same mirror image
    np.testing.assert_array_equal(y[0], full > 0)
    np.testing.assert_array_equal(lab > 0, full > 0)
    # rows 6-8 hold the particles (rows 2-4 of the frame); their copies mirrored across the top and
    # bottom edges are apart from them, so separate instances
    assert len(np.unique(lab[6:9, 2:7])) == 1  # the cut particle continues into its mirror image
    assert lab[7, 9] != lab[7, 13] and lab[7, 9] > 0 and lab[7, 13] > 0  # near the edge: two instances
    assert len(np.unique(lab[full == 7])) == 3 and len(np.unique(lab[full == 9])) == 6


def _crop_of_padded_frame(stack, labels, *, crop, margin, rng, foreground=False):  # type: ignore[no-untyped-def]
    """Reference for :func:`unet.data.mirrored_crop`: np.pad the whole stack and labels, then slice
    the window drawn from ``rng`` with the same draws."""
    my, mx = min(margin, labels.shape[0] - 1), min(margin, labels.shape[1] - 1)
    py, px = max(0, crop - labels.shape[0] - 2 * my), max(0, crop - labels.shape[1] - 2 * mx)
    stack = np.pad(stack, ((0, 0), (my, my + py), (mx, mx + px)), mode="reflect")
    labels = np.pad(labels, ((my, my + py), (mx, mx + px)), mode="reflect")
    particle_px = np.flatnonzero(labels) if foreground else np.zeros(0)
    if particle_px.size:
        cy, cx = np.unravel_index(rng.choice(particle_px), labels.shape)
        i = int(rng.integers(max(0, cy - crop + 1), min(cy, labels.shape[0] - crop) + 1))
        j = int(rng.integers(max(0, cx - crop + 1), min(cx, labels.shape[1] - crop) + 1))
    else:
        i, j = int(rng.integers(labels.shape[0] - crop + 1)), int(rng.integers(labels.shape[1] - crop + 1))
    return stack[:, i:i + crop, j:j + crop], labels[i:i + crop, j:j + crop]


def test_mirrored_crop_equals_a_crop_of_the_padded_frame() -> None:
    """mirrored_crop gathers only the window's pixels; they are those of np.pad's mirror-extended
    frame, bit for bit, for any frame, margin (none, some, more than the frame) and crop (smaller
    or larger than the extended frame), with and without foreground oversampling."""
    from skimage.measure import label

    from unet.data import mirrored_crop
    from unet.postprocess import targets_from_labels

    g = np.random.default_rng(1)
    for _ in range(400):
        (Y, X), crop, margin = g.integers(2, 50, 2), int(g.integers(1, 80)), int(g.integers(0, 30))
        stack = g.random((3, Y, X)).astype(np.float32)
        labels = (g.random((Y, X)) < 0.2) * g.integers(1, 5, (Y, X)).astype(np.int32)
        foreground, seed = bool(g.random() < 0.5), int(g.integers(2**31))
        x, y, lab = mirrored_crop(stack, labels, crop=crop, margin=margin, rng=np.random.default_rng(seed),
                                  foreground=foreground)
        ref_x, ref_lab = _crop_of_padded_frame(stack, labels, crop=crop, margin=margin,
                                               rng=np.random.default_rng(seed), foreground=foreground)
        np.testing.assert_array_equal(x, ref_x)
        np.testing.assert_array_equal(y, np.stack(targets_from_labels(ref_lab)))
        np.testing.assert_array_equal(lab, label(ref_lab, background=0, connectivity=2))


def test_mirrored_crop_with_foreground_holds_a_particle() -> None:
    """Foreground oversampling: every crop holds a particle pixel; uniform crops of a frame with
    one small particle in a corner mostly miss it."""
    from unet.data import mirrored_crop

    labels = np.zeros((64, 64), np.int32)
    labels[1:4, 58:62] = 3
    stack = labels[None].astype(np.float32)
    rng = np.random.default_rng(0)
    with_fg = [mirrored_crop(stack, labels, crop=16, margin=0, rng=rng, foreground=True) for _ in range(200)]
    uniform = [mirrored_crop(stack, labels, crop=16, margin=0, rng=rng) for _ in range(200)]
    assert all(lab.any() for _, _, lab in with_fg)
    assert np.mean([lab.any() for _, _, lab in uniform]) < 0.2
    for x, y, lab in with_fg[:20]:  # input, targets and labels cut from the same window
        np.testing.assert_array_equal(x[0] > 0, lab > 0)
        np.testing.assert_array_equal(y[0] > 0, lab > 0)
    # a frame without particles: an ordinary crop
    x, _, lab = mirrored_crop(stack * 0, labels * 0, crop=16, margin=0, rng=rng, foreground=True)
    assert x.shape == (1, 16, 16) and not lab.any()


def test_segment_uses_the_margin_the_model_was_trained_with(tmp_path, monkeypatch) -> None:
    import unet.method
    from simulator.video import VideoMeta
    from unet.io import save_model

    seen: list[int] = []

    def spy(*args, margin, **kw):
        seen.append(margin)
        return predict_logits(*args, margin=margin, **kw)

    monkeypatch.setattr(unet.method, "predict_logits", spy)
    model, video = _model(), _video((1, 40, 48))
    save_model(tmp_path / "m", model, {"training": {"margin": 8}})
    save_model(tmp_path / "old", model, {"training": {}})
    meta = VideoMeta(video_id="v", shape=video.shape, pixel_size_nm=1.0, frame_interval_s=0.1)
    unet.method.segment(video, meta, model=tmp_path / "m")
    unet.method.segment(video, meta, model=tmp_path / "old")
    unet.method.segment(video, meta, model=tmp_path / "m", margin=3)
    unet.method.segment(video, meta, model=model)
    assert seen == [8, 0, 3, 0]


def test_segment_normalizes_with_the_percentiles_of_the_model(tmp_path, monkeypatch) -> None:
    """model.json's ``normalization.percentiles`` (once written and never read) reach the normalisation."""
    import unet.infer
    import unet.method
    from unet.normalize import DEFAULT_PERCENTILES

    seen: list[tuple[float, float]] = []
    normalize = unet.infer.normalize_frames

    def spy(frames, *, percentiles=DEFAULT_PERCENTILES, **kw):
        seen.append(tuple(percentiles))
        return normalize(frames, percentiles=percentiles, **kw)

    monkeypatch.setattr(unet.infer, "normalize_frames", spy)
    model, video = _model(), _video((1, 40, 48))
    meta = VideoMeta("v", video.shape, 1.0, 0.1)
    save_model(tmp_path / "m", model, {"normalization": {"percentiles": [5.0, 95.0], "invert_bright_field": True}})
    save_model(tmp_path / "old", model, {})
    for m in (tmp_path / "m", tmp_path / "old", None, model):
        unet.method.segment(video, meta, model=m, tile=48)
    assert seen == [(5.0, 95.0), (1.0, 99.8), (1.0, 99.8), (1.0, 99.8)]  # the default: the shipped model's


def _views(a: np.ndarray) -> list[np.ndarray]:
    """The 8 rotations and mirror images of (..., Y, X) ``a``."""
    return [np.flip(np.rot90(a, k, axes=(-2, -1)), -1) if flip else np.rot90(a, k, axes=(-2, -1))
            for k in range(4) for flip in (False, True)]


def test_tta_averages_the_eight_views_and_turns_with_the_frame() -> None:
    """A network that is not rotation-invariant (random weights): with ``tta`` its logits are the
    mean of the 8 views' logits brought back, and rotating or mirroring the video rotates or
    mirrors them exactly (margins included)."""
    model, video = _model(), _video((3, 64, 64))
    kw = {"particles_bright": False, "tile": 128, "margin": 8}
    plain = list(predict_logits(video, model, **kw))
    tta = list(predict_logits(video, model, tta=True, **kw))
    assert np.abs(tta[1] - plain[1]).max() > 1e-3  # the views differ: the average is not one of them
    for k in range(4):
        for flip in (False, True):
            view = np.ascontiguousarray(_views(video)[2 * k + flip])
            out = list(predict_logits(view, model, **kw))[1]
            back = np.rot90(np.flip(out, -1) if flip else out, -k, axes=(-2, -1))
            if (k, flip) == (0, False):
                mean = back / 8
            else:
                mean = mean + back / 8
            turned = list(predict_logits(view, model, tta=True, **kw))[1]
            np.testing.assert_allclose(turned, _views(tta[1])[2 * k + flip], atol=1e-4)
    np.testing.assert_allclose(tta[1], mean, atol=1e-5)


def test_tta_on_tiles_of_a_frame_that_is_not_square() -> None:
    """Rotated by 90°, a 70×110 frame is 110×70: its own tiles; the blend stays close to the
    whole-frame average."""
    model, video = _model(), _video((2, 70, 110))
    tiled = list(predict_logits(video, model, particles_bright=True, tile=48, overlap=16, tta=True))
    whole = list(predict_logits(video, model, particles_bright=True, tile=128, tta=True))
    assert len(tiled) == 2 and all(o.shape == (2, 70, 110) and np.isfinite(o).all() for o in tiled)
    inner = (slice(None), slice(8, -8), slice(8, -8))
    assert np.abs(whole[0] - tiled[0])[inner].mean() < 0.25 * whole[0].std()


def test_segment_with_tta() -> None:
    """``segment(tta=True)`` labels what the averaged logits give (a model object: default post-processing)."""
    meta = VideoMeta("v", (2, 40, 40), 1.0, 0.1)
    video = _video((2, 40, 40))
    labels = segment(video, meta, model=_model(), tile=32, overlap=8, tta=True)
    assert labels.max() > 1  # the random network's logits give several regions to compare
    for t, logits in enumerate(predict_logits(video, _model(), particles_bright=False, tile=32, overlap=8,
                                              tta=True)):
        prob = 1 / (1 + np.exp(-logits))
        np.testing.assert_array_equal(labels[t], instances_from_probabilities(prob[0], prob[1]))


@pytest.mark.parametrize("tile", [128, 48])
def test_cpu_inference_runs_the_network_channels_last(tile: int) -> None:
    """On the CPU every batch reaches the network in NHWC layout (oneDNN's fast convolutions: ~2x
    on 2 cores), whole frame or tiles, and the model's own weights are left in their layout."""
    model, seen = _model(), []
    model.register_forward_pre_hook(lambda _m, args: seen.append(args[0].is_contiguous(
        memory_format=torch.channels_last)))
    out = list(predict_logits(_video((2, 70, 90)), model, particles_bright=False, tile=tile, overlap=16))
    assert len(out) == 2 and len(seen) >= 2 and all(seen)
    assert all(p.is_contiguous() for p in model.parameters())


def test_shipped_model_gives_the_same_labels_channels_last() -> None:
    """The shipped network (batch norm, 5 frames) on a simulated frame: the channels-last logits
    agree with the plain NCHW forward pass to float32 rounding, and the labels are the same."""
    from simulator.config import load_config
    from simulator.simulate import simulate_video
    from unet.io import load_model
    from unet.normalize import normalize_frames

    net, cfg = load_model(None)
    video = simulate_video(load_config("assembly-cubes", overrides=[
        "video.frames=5", "video.height_px=96", "video.width_px=96"]), seed=3)
    logits = list(predict_logits(video.frames, net, particles_bright=video.meta.particles_bright, margin=0))[2]
    x = normalize_frames(video.frames, particles_bright=video.meta.particles_bright)
    with torch.inference_mode():
        ref = net(torch.from_numpy(x)[None])[0].numpy()
    np.testing.assert_allclose(logits, ref, atol=1e-4)
    post = cfg["postprocess"]
    label = [instances_from_probabilities(1 / (1 + np.exp(-a[0])), 1 / (1 + np.exp(-a[1])), **post) for a in (logits, ref)]
    assert label[0].max() > 3
    np.testing.assert_array_equal(*label)
