"""Training loop: AdamW, cosine schedule with warm-up, mixed precision (float16 on GPU, bfloat16 on
request on either device), fixed validation set, CSV log, loss/score plot, checkpoints and exact
resume.

Loss: binary cross-entropy on both heads (boundary pixels weighted ``BOUNDARY_POS_WEIGHT``, they
are rare) plus a soft Dice term on the foreground (Milletari et al., V-Net, 3DV 2016), the usual
remedy for sparse foreground.  Checkpoints: ``checkpoint.pt`` holds only tensors, numbers,
lists and a JSON string (model, optimizer, step, torch's RNG states, float16's loss scale, the
training options; a resume with other options is refused) and is read back with ``torch.load(weights_only=True)``, which refuses
arbitrary objects; it and ``train_log.csv`` are written to a temporary file renamed over the
old one, so a run killed while saving leaves the previous ones.  The deliverable model is the
safetensors + JSON of :mod:`unet.io`.
Batches are a function of ``(seed, step)`` (:class:`unet.data.StepBatches`) and the checkpoint
holds torch's RNG state, so on the CPU a run stopped and resumed gives the same weights, bit for
bit, as an uninterrupted one.  On a GPU it goes on with the GPU's RNG state and loss scale too,
but cuDNN may sum a convolution's gradient in another order: close weights, not the same bits.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import sys
import time
from dataclasses import asdict
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from simulator.errors import UserError
from simulator.outfile import write_atomic
from unet.data import ClipSampler, ClipSource, DiskFrames, Sampler, SimulatedClips, StepBatches
from unet.infer import check_device
from unet.io import save_model
from unet.malloc import retain_freed_memory
from unet.model import UNet
from unet.normalize import DEFAULT_PERCENTILES
from unet.calibrate import DEFAULT_POSTPROCESS, match_counts, tune_postprocess
from unet.postprocess import instances_from_probabilities
from unet.train_config import TrainConfig

__all__ = ["TrainConfig", "train", "f1_at_05", "BOUNDARY_POS_WEIGHT"]

log = logging.getLogger(__name__)

#: Weight of positive boundary pixels in the BCE (they are ~10-20 % of foreground pixels).
BOUNDARY_POS_WEIGHT = 3.0
_LOG_FIELDS = ("step", "lr", "loss", "val_loss", "val_f1", "elapsed_s")




def f1_at_05(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    """(matches, predicted, true) objects of one frame at IoU > 0.5 (such matches are unique)."""
    matches, n_pred, n_true = match_counts(pred, truth, (0.5,))
    return int(matches[0]), n_pred, n_true


def _lr_factor(step: int, total: int, warmup: float) -> float:
    """Linear warm-up over ``warmup * total`` steps then cosine decay to 1 % (Loshchilov & Hutter, SGDR 2017)."""
    w = max(1, int(warmup * total))
    if step < w:
        return (step + 1) / w
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * (step - w) / max(1, total - w)))


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    logits = logits.float()
    fg_bce = F.binary_cross_entropy_with_logits(logits[:, 0], target[:, 0])
    pos_w = torch.tensor(BOUNDARY_POS_WEIGHT, device=logits.device)
    bd_bce = F.binary_cross_entropy_with_logits(logits[:, 1], target[:, 1], pos_weight=pos_w)
    prob = torch.sigmoid(logits[:, 0])
    inter = (prob * target[:, 0]).sum()
    dice = 1 - (2 * inter + 1) / (prob.sum() + target[:, 0].sum() + 1)
    return fg_bce + bd_bce + dice


def _validation_set(sampler: Sampler, cfg: TrainConfig) -> list[tuple[torch.Tensor, torch.Tensor, np.ndarray]]:
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 2**20]))
    items = []
    for _ in range(cfg.val_clips):
        x, y, labels = sampler(rng, 1, cfg.context, cfg.crop)
        items.append((torch.from_numpy(x[0]), torch.from_numpy(y[0]), labels[0]))
    return items


@torch.inference_mode()
def _validate(model: UNet, val: list, device: torch.device) -> tuple[float, float]:
    model.eval()
    losses, tp, n_pred, n_true = [], 0, 0, 0
    for x, y, truth in val:
        logits = model(x[None].to(device))
        losses.append(float(_loss(logits, y[None].to(device))))
        prob = torch.sigmoid(logits[0].float()).cpu().numpy()
        m, p, t = f1_at_05(instances_from_probabilities(prob[0], prob[1]), truth)
        tp, n_pred, n_true = tp + m, n_pred + p, n_true + t
    model.train()
    f1 = 2 * tp / (n_pred + n_true) if n_pred + n_true else 1.0
    return float(np.mean(losses)), f1


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r["loss"] for r in rows], label="train loss", lw=0.8)
    val = [r for r in rows if r["val_loss"] != ""]
    ax.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", label="val loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax2 = ax.twinx()
    ax2.plot([r["step"] for r in val], [r["val_f1"] for r in val], "s-", color="C2", label="val F1@0.5")
    ax2.set_ylabel("F1@0.5")
    ax2.set_ylim(0, 1)
    fig.legend(loc="upper center", ncol=3, fontsize=8)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def _write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=_LOG_FIELDS)
            writer.writeheader()
            writer.writerows(rows)

    write_atomic(path, write)


def _load_checkpoint(path: Path, device: torch.device) -> dict[str, Any]:
    """The checkpoint's contents; a file that is not one is a user error naming it."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated, garbage, refused objects: torch raises many kinds
        raise UserError(f"--resume {path}: not a readable checkpoint, truncated or corrupt ({type(exc).__name__}); "
                        "delete it to start again, or use a new --out") from None
    if not isinstance(state, dict) or not {"model", "optimizer", "step"} <= set(state):
        raise UserError(f"--resume {path}: not a checkpoint of nanoaq train (expected model, optimizer and step); "
                        "delete it to start again, or use a new --out")
    return state


def _read_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open() as fh:
        # step as an integer, as written ("1", not "1.0"); int(float()) also reads logs written as "1.0"
        return [{k: ("" if v == "" else int(float(v)) if k == "step" else float(v)) for k, v in row.items()}
                for row in csv.DictReader(fh)]


#: Options that may change when a run is resumed: more steps (the run continues, its schedule
#: stretched), validation cadence and data-loading workers (batches depend on seed and step only).
_RESUMABLE_CHANGES = frozenset({"steps", "val_every", "workers"})


def _check_resumed_options(ckpt_path: Path, saved: str | None, cfg: TrainConfig) -> None:
    """Refuse to resume a checkpoint with other training options than it was trained with."""
    if saved is None:  # a checkpoint written before the options were stored
        log.warning("%s records no training options: they cannot be checked against this command's", ckpt_path)
        return
    # an option added after the checkpoint was written had its default (the earlier behaviour)
    before, now = {**asdict(TrainConfig()), **json.loads(saved)}, asdict(cfg)
    for name in sorted(set(before) | set(now)):
        if name not in _RESUMABLE_CHANGES and before.get(name) != now.get(name):
            raise UserError(f"--resume {ckpt_path.parent}: its checkpoint was trained with {name} = "
                            f"{before.get(name)!r}, this command has {name} = {now.get(name)!r}; repeat the "
                            "checkpoint's options or start a new --out")


def train(
    out: str | Path,
    cfg: TrainConfig,
    *,
    device: str = "cpu",
    resume: bool = False,
    source: ClipSource | None = None,
    progress: bool = True,
    command: str | None = None,
    stop_at: int | None = None,
) -> dict[str, float]:
    """Train a U-Net and save it into ``out`` (``model.safetensors`` + ``model.json``).

    Also writes ``train_log.csv``, ``train_plot.png`` and ``checkpoint.pt`` (every validation).
    Training batches come from the datasets ``cfg.data`` (:class:`unet.data.DiskFrames`) or,
    when there are none, from fresh clips of ``source``, which defaults to
    :class:`unet.data.SimulatedClips` over ``cfg.presets`` (all when empty).  Validation samples
    come from ``cfg.val_data``, or else from ``source`` (domain-randomised simulated clips).
    With ``cfg.tune_postprocess`` and ``cfg.data``, the post-processing thresholds are chosen on
    the training datasets' whole frames (:func:`unet.calibrate.tune_postprocess`), in as many
    worker processes as torch has threads: a script that calls this function must do so under
    ``if __name__ == "__main__":`` (the workers are spawned and import the script; ``nanoaq train``
    does).

    ``resume``: continue from ``out/checkpoint.pt`` (a missing or empty ``out`` starts afresh; a
    non-empty one without a checkpoint, or ``cfg.steps`` below the checkpoint's step, is refused).
    ``stop_at``: stop after that step (>= 1, and not before a resumed checkpoint's) with a
    checkpoint and no model, as an interrupted run would (continue with ``resume=True``).  Returns the last validation scores
    ``{"val_loss": ..., "val_f1": ...}`` (empty when stopped early).
    """
    out = Path(out)
    dev = check_device(device, what=f"--device {device!r}")
    if stop_at is not None and stop_at < 1:
        raise UserError(f"--stop-at {stop_at}: expected a step >= 1")
    if dev.type == "cuda" and cfg.bf16 and not torch.cuda.is_bf16_supported():
        raise UserError("--bf16 --device cuda: this GPU has no bfloat16 support (leave out --bf16: float16 autocast)")
    ckpt_path, log_path = out / "checkpoint.pt", out / "train_log.csv"
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; expected a folder for the model")
    occupied = out.exists() and any(out.iterdir())
    if occupied and not resume:
        raise UserError(f"--out {out}: folder exists and is not empty (use --resume to continue it)")
    if occupied and not ckpt_path.is_file():  # resuming
        raise UserError(f"--resume {out}: the folder is not empty and holds no checkpoint.pt to continue from; "
                        "expected a folder that nanoaq train wrote, or a new --out")
    source = source or SimulatedClips(cfg.presets or None)
    # user errors in --data before anything is written
    disk = DiskFrames(cfg.data, margin=cfg.margin, foreground_fraction=cfg.foreground_fraction) if cfg.data else None
    sampler: Sampler = disk or ClipSampler(source, margin=cfg.margin)
    val_sampler: Sampler = (DiskFrames(cfg.val_data, margin=cfg.margin) if cfg.val_data
                            else ClipSampler(source, margin=cfg.margin))
    out.mkdir(parents=True, exist_ok=True)
    retain_freed_memory()  # each step reuses the last one's freed buffers (unet.malloc)
    torch.manual_seed(cfg.seed)  # torch's generator of this process: initial weights (and dropout)
    model = UNet(cfg.context, cfg.depth, cfg.base_width, cfg.norm, cfg.dropout,  # type: ignore[arg-type]
                 input_pyramid=cfg.input_pyramid).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    # mixed precision: float16 autocast with loss scaling on CUDA, or bfloat16 autocast on either
    # device (bfloat16 has float32's exponent range: no loss scaling)
    amp_dtype = torch.bfloat16 if cfg.bf16 else torch.float16
    use_amp = cfg.bf16 or dev.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=dev.type == "cuda" and not cfg.bf16)
    start = 0
    if resume and ckpt_path.is_file():
        state = _load_checkpoint(ckpt_path, dev)
        _check_resumed_options(ckpt_path, state.get("config"), cfg)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start = int(state["step"])
        if stop_at is not None and stop_at < start:
            raise UserError(f"--stop-at {stop_at}: the checkpoint in {out} is already at step {start}; "
                            "expected that step or a later one")
        if cfg.steps < start:  # else the checkpoint's weights would be saved as a model of cfg.steps steps
            raise UserError(f"--steps {cfg.steps}: the checkpoint in {out} is already at step {start}; "
                            "expected that many steps or more")
        if "torch_rng" in state:  # dropout masks continue as in an uninterrupted run
            torch.set_rng_state(state["torch_rng"].cpu())  # mapped to the device with the rest
        if dev.type == "cuda" and "cuda_rng" in state:  # dropout on the GPU draws from the GPU's generator
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), dev)
        if state.get("scaler"):  # float16's loss scale goes on from where it was, not from 2**16
            scaler.load_state_dict(state["scaler"])
        log.info("resumed %s at step %d", out, start)
    rows = [r for r in _read_log(log_path) if r["step"] <= start]
    val = _validation_set(val_sampler, cfg)
    stream = StepBatches(sampler, seed=cfg.seed, start=start, batch_size=cfg.batch_size, context=cfg.context,
                         crop=cfg.crop)
    # its own generator: the DataLoader must not draw from torch's global one (dropout), or a resumed
    # run would see other dropout masks than an uninterrupted one
    loader = DataLoader(stream, batch_size=None, num_workers=cfg.workers, generator=torch.Generator().manual_seed(0))
    end = cfg.steps if stop_at is None else min(cfg.steps, stop_at)
    t0 = time.perf_counter() - (float(rows[-1]["elapsed_s"]) if rows else 0.0)
    scores = {"val_loss": float("nan"), "val_f1": float("nan")}
    model.train()
    bar = tqdm(total=cfg.steps, initial=start, desc="train", unit="step", disable=not progress)
    for step, (x, y) in enumerate(islice(loader, max(0, end - start)), start=start):
        lr = cfg.lr * _lr_factor(step, cfg.steps, cfg.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
        with torch.autocast(device_type=dev.type, dtype=amp_dtype, enabled=use_amp):
            loss = _loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        row: dict[str, Any] = {"step": step + 1, "lr": lr, "loss": loss.item(), "val_loss": "", "val_f1": "",
                               "elapsed_s": time.perf_counter() - t0}
        if (step + 1) % cfg.val_every == 0 or step + 1 == cfg.steps:
            scores["val_loss"], scores["val_f1"] = _validate(model, val, dev)
            row.update(scores)
        if (step + 1) % cfg.val_every == 0 or step + 1 == end:
            ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step + 1,
                    "torch_rng": torch.get_rng_state(), "scaler": scaler.state_dict(),
                    "config": json.dumps(asdict(cfg), sort_keys=True)}
            if dev.type == "cuda":
                ckpt["cuda_rng"] = torch.cuda.get_rng_state(dev)
            write_atomic(ckpt_path, lambda tmp: torch.save(ckpt, tmp))
            _write_log(log_path, [*rows, row])
            bar.set_postfix(loss=f"{loss.item():.3f}", val_f1=f"{scores['val_f1']:.3f}")
        rows.append(row)
        bar.update(1)
    bar.close()
    if end < cfg.steps:
        log.info("stopped at step %d of %d; continue with --resume", end, cfg.steps)
        return {}
    if math.isnan(scores["val_f1"]):
        scores["val_loss"], scores["val_f1"] = _validate(model, val, dev)
    _write_log(log_path, rows)
    if rows:
        _plot(rows, out / "train_plot.png")
    post: dict[str, Any] = dict(DEFAULT_POSTPROCESS)
    post_scores: dict[str, Any] = {}
    if cfg.tune_postprocess and disk is not None:
        # the post-processing of the probabilities in as many processes as torch has threads
        post, post_scores = tune_postprocess(model.eval(), disk, workers=torch.get_num_threads(), device=dev)
    save_model(out, model.cpu(), {
        "normalization": {"percentiles": list(DEFAULT_PERCENTILES), "invert_bright_field": True},
        "postprocess": post,
        "postprocess_tuning": post_scores,
        "training": {**asdict(cfg), "command": command or " ".join(sys.argv), "device": device},
        "code_version": _code_version(),
        "validation": scores,
    })
    return scores


def _code_version() -> str:
    try:
        from importlib.metadata import version
        return version("nanoaquarium")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "unknown"
