"""The U-Net on a CUDA GPU: training steps per second and inference frames per second (issue #6),
each beside the same work on 2 CPU threads of the same machine, in the same run.

    python benchmarks/gpu.py [--steps 400] [--out gpu.json]

Training: ``unet.train.train`` with the shipped model's architecture and batch (context 5, depth 4,
base width 12, batch 8 random 128 px crops, 32 px mirrored margin) on a small dataset simulated for
the run (4 brownian-prisms videos, 8 frames of 256 px); steps per second from the training log's
clock between the ends of step 50 and of the last step (start-up and cuDNN's autotuning left out),
for float16 autocast (the default on CUDA), bfloat16 autocast (``--bf16``), batch 32, and 4
data-loading workers; on the CPU, bfloat16 (``--bf16``).
Inference: the shipped model on 512×512 frames (576×576 with the margins), on the GPU under float16
autocast timed with CUDA events (median of 20 after 5 warm-ups), on the CPU in float32 as
:func:`unet.method.segment` runs it there (median of 3): the network alone, one frame at a time and
8 at a time, and the whole :func:`unet.method.segment` (normalisation, network, the watershed
post-processing on the CPU). Needs a GPU that torch sees; without one, one line and exit status 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.config import load_config  # noqa: E402
from simulator.dataset import write_dataset  # noqa: E402
from simulator.errors import UserError  # noqa: E402
from simulator.outfile import check_out_file, write_atomic  # noqa: E402
from simulator.simulate import simulate_video  # noqa: E402

#: the shipped model's training options (unet/weights/README.md, "Reproduce")
SHIPPED = {"context": 5, "depth": 4, "base_width": 12, "batch_size": 8, "crop": 128, "margin": 32}
WARM_STEPS = 50


def training_speed(data: Path, device: str, steps: int, **options: Any) -> float:
    """Steps per second of ``train`` between the ends of steps ``WARM_STEPS`` and ``steps``."""
    from unet.train import TrainConfig, train

    cfg = TrainConfig(**{**SHIPPED, **options, "steps": steps, "val_every": steps, "val_clips": 2,
                         "data": [str(data)], "tune_postprocess": False})
    with tempfile.TemporaryDirectory() as tmp:
        train(Path(tmp) / "m", cfg, device=device, progress=False, command="benchmarks/gpu.py")
        rows = list(csv.DictReader((Path(tmp) / "m" / "train_log.csv").open()))
    # a row's clock is read when its step ends, before the validation (here only after the last step)
    t = {int(r["step"]): float(r["elapsed_s"]) for r in rows}
    return (steps - WARM_STEPS) / (t[steps] - t[WARM_STEPS])


def network_fps(model, frames, batch: int, device: str) -> float:
    """Frames per second of the network alone on ``frames`` (N, C, 576, 576), float16 autocast on CUDA,
    float32 channels-last on the CPU (:func:`unet.infer.network_logits`, as in ``segment()``)."""
    import torch

    x = torch.from_numpy(frames[:batch]).to(device)
    autocast = torch.autocast(device_type="cuda", dtype=torch.float16, enabled=device == "cuda")
    with torch.inference_mode(), autocast:
        if device == "cuda":
            for _ in range(5):
                model(x)
            times = []
            for _ in range(20):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(x)
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end) / 1e3)
        else:  # as segment() runs it there: channels-last input
            from unet.infer import network_logits

            network_logits(model, x)
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                network_logits(model, x)
                times.append(time.perf_counter() - t0)
    return batch / float(np.median(times))


def segment_fps(video, device: str) -> float:
    """Frames per second of the whole ``segment`` (best of 3) on ``video``."""
    import torch

    from unet.method import segment

    segment(video.frames[:1], video.meta, device=device)  # load and warm up
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        segment(video.frames, video.meta, device=device)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return len(video.frames) / best


def run(steps: int) -> dict[str, Any]:
    import torch

    from unet.infer import check_device, context_stack
    from unet.io import load_model
    from unet.normalize import normalize_frames

    check_device("cuda", what="benchmarks/gpu.py")
    torch.backends.cudnn.benchmark = True
    torch.set_num_threads(2)  # the CPU reference: 2 threads, as the machine of issue #6
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "prisms"
        cfg = load_config("brownian-prisms", overrides=["video.frames=8", "video.height_px=256",
                                                        "video.width_px=256", "video.count=4"])
        write_dataset(cfg, data, seed=0, workers=None, progress=False)
        for what, device, n, options in [
            ("float16 autocast, batch 8 (the default on CUDA)", "cuda", steps, {}),
            ("bfloat16 autocast (--bf16), batch 8", "cuda", steps, {"bf16": True}),
            ("float16 autocast, batch 32", "cuda", steps, {"batch_size": 32}),
            ("float16 autocast, batch 8, 4 data workers", "cuda", steps, {"workers": 4}),
            ("2 CPU threads, bfloat16 (--bf16), batch 8", "cpu", WARM_STEPS + 30, {"bf16": True}),
        ]:
            rate = training_speed(data, device, n, **options)
            rows.append({"id": "train", "what": what, "device": device, "value": rate, "unit": "steps/s"})
            print(f"train  {what:<50} {rate:8.1f} steps/s", flush=True)
    model, mcfg = load_model(None)
    video = simulate_video(load_config("brownian-prisms", overrides=[
        "video.frames=8", "video.height_px=512", "video.width_px=512", "particles.count=50"]), seed=3)
    margin = mcfg["training"]["margin"]
    x = normalize_frames(video.frames, particles_bright=video.meta.particles_bright)
    x = np.pad(x, ((0, 0), (margin, margin), (margin, margin)), mode="reflect")
    c = model.hparams["in_channels"]
    stacks = np.stack([context_stack(x, t, c) for t in range(len(x))])
    for device, batch in [("cuda", 1), ("cuda", 8), ("cpu", 1)]:
        net = model.to(device).eval()
        fps = network_fps(net, stacks.astype(np.float32), batch, device)
        what = f"network alone, 512x512 (+{margin} px margins), batch {batch}"
        rows.append({"id": "infer_net", "what": what, "device": device, "value": fps, "unit": "frames/s"})
        print(f"infer  {what + ', ' + device:<50} {fps:8.1f} frames/s", flush=True)
    for device in ("cuda", "cpu"):
        fps = segment_fps(video, device)
        what = "segment(): normalisation, network, post-processing, 512x512"
        rows.append({"id": "infer_segment", "what": what, "device": device, "value": fps, "unit": "frames/s"})
        print(f"infer  {what + ', ' + device:<50} {fps:8.1f} frames/s", flush=True)
    return {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=400, help="training steps per GPU variant (> 100)")
    ap.add_argument("--out", type=Path, default=Path("gpu.json"))
    args = ap.parse_args(argv)
    try:
        if args.steps <= 2 * WARM_STEPS:
            raise UserError(f"--steps {args.steps}: expected more than {2 * WARM_STEPS}")
        out = check_out_file(args.out, expected="a JSON file", example="gpu.json")
        result = run(args.steps)
    except UserError as exc:
        print(f"gpu.py: error: {exc}", file=sys.stderr)
        return exc.exit_code
    write_atomic(out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
