"""Subcommands of ``nanoaq`` that belong to the simulator: presets, schema, simulate, info,
export-ctc, verify.  Thin: parse, call the library, print a short summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .config import config_schema, list_presets, load_config
from .errors import UserError

__all__ = ["register"]


def _presets(args: argparse.Namespace) -> int:
    presets = list_presets()
    width = max(len(n) for n in presets)
    for name, desc in presets.items():
        print(f"{name:<{width}}  {desc}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(config_schema(), indent=2))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from .dataset import write_dataset

    overrides = list(args.set or [])
    if args.frames is not None:
        overrides.append(f"video.frames={args.frames}")
    if args.size is not None:
        overrides += [f"video.height_px={args.size}", f"video.width_px={args.size}"]
    if args.videos is not None:
        overrides.append(f"video.count={args.videos}")
    if args.calibration is not None:
        overrides.append(f"detector.calibration={json.dumps(str(args.calibration))}")
    config = load_config(None if args.config else args.preset, file=args.config, overrides=overrides)
    out = write_dataset(config, args.out, seed=args.seed, workers=args.workers, dask=args.dask,
                        progress=not args.quiet)
    v = config.video
    print(f"wrote {v.count} video(s) of {v.frames} frames {v.height_px}x{v.width_px} "
          f"(preset {config.preset}, seed {args.seed}) to {out}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from .dataset import open_dataset
    from .tables import read_csv

    ds = open_dataset(args.dataset)
    m = ds.manifest
    print(f"{ds.path}: nanoaquarium dataset, schema {m['schema_version']}, generator "
          f"{m.get('generator_version', '?')}, preset {m.get('preset', '?')}, seed {m.get('seed', '?')}, "
          f"{len(ds.video_ids)} video(s)")
    for vid in ds.video_ids:
        meta = ds.meta(vid)
        tracks = read_csv(ds.path / vid / "tracks.csv")
        events = read_csv(ds.path / vid / "events.csv")
        T, Y, X = meta.shape
        print(f"  {vid}: {T} frames {Y}x{X} px, {meta.pixel_size_nm:g} nm/px, "
              f"{meta.frame_interval_s:g} s/frame, {meta.mode}, dose rate "
              f"{meta.dose_rate_e_per_A2_s:g} e-/A^2/s, {len(tracks)} tracks, {len(events)} events")
    return 0


def _export_ctc(args: argparse.Namespace) -> int:
    from .ctc import export_ctc

    out = export_ctc(args.dataset, args.out, with_result=args.with_result)
    print(f"wrote the Cell Tracking Challenge layout to {out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .dataset import verify_folder

    kind, bad = verify_folder(args.dataset)
    for line in bad:
        print(line)
    if bad:
        raise UserError(f"{args.dataset}: {len(bad)} file(s) of the {kind} fail the manifest or schema check "
                        f"(listed above): {bad[0]}")
    print(f"{args.dataset}: {kind}: all files match the manifest and schema")
    return 0


def _preview(args: argparse.Namespace) -> int:
    from .preview import preview_dataset

    out = preview_dataset(args.dataset, args.out, frames=args.frames, video_id=args.video)
    print(f"wrote {out}")
    return 0


def _roi(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected X,Y,W,H in pixels, e.g. 0,0,200,200") from None
    return x, y, w, h


def _calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate, check_calibration_out, read_frames, save_calibration

    check_calibration_out(args.out)  # before the calibration, not after it
    frames, sources, pixel, dtype = read_frames(args.frames)
    calib = calibrate(frames, sources=sources, pixel_size_nm=pixel, dtype=dtype, rois=args.roi,
                      dark_particles=not args.bright_particles, patch_px=args.patch,
                      read_noise=args.read_noise, dark_offset=args.dark_offset)
    out = save_calibration(calib, args.out)
    print(f"calibrated from {calib.n_frames} frame(s), {calib.n_patches} background patches of {calib.patch_px} px: "
          f"noise gain {calib.noise_gain:.4g}, read noise {calib.read_noise:.4g}, offset {calib.dark_offset:.4g}, "
          f"MTF at Nyquist/2 {calib.mtf[len(calib.mtf) // 2]:.3f} ({calib.mtf_method}); {calib.photon_transfer_note}")
    print(f"wrote {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the simulator's subcommands to ``nanoaq``."""
    p = sub.add_parser("presets", help="list the shipped simulation presets")
    p.set_defaults(func=_presets)

    p = sub.add_parser("schema", help="print the JSON schema of the simulation config")
    p.set_defaults(func=_schema)

    p = sub.add_parser("simulate", help="simulate a dataset of LPEM videos with ground truth")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", default="brownian-prisms", help="preset name (see `nanoaq presets`)")
    src.add_argument("--config", type=Path, help="a TOML config file instead of a preset")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config key, e.g. --set imaging.dose_rate_e_per_A2_s=20 (repeatable)")
    p.add_argument("--frames", type=int, help="frames per video (video.frames)")
    p.add_argument("--size", type=int, help="frame height and width in pixels")
    p.add_argument("--videos", type=int, help="number of videos (video.count)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    p.add_argument("--out", type=Path, required=True, help="dataset folder to create")
    p.add_argument("--workers", type=int, default=None,
                   help="processes rendering videos in parallel (default: one per core); "
                   "the bytes written do not depend on it")
    p.add_argument("--dask", metavar="local|tcp://HOST:8786",
                   help="render on a dask.distributed cluster: a LocalCluster, or an existing "
                   "scheduler whose workers share the output file system")
    p.add_argument("--calibration", type=Path,
                   help="calib.json of `nanoaq calibrate`: render with the real frames' detector and background "
                   "(same as --set detector.calibration=PATH)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_simulate)

    p = sub.add_parser("calibrate", help="measure detector MTF, noise, gain and background of real frames")
    p.add_argument("frames", nargs="+", type=Path, help="TIFF frames, stacks or folders of them")
    p.add_argument("--out", type=Path, required=True, help="calibration file to write (calib.json)")
    p.add_argument("--roi", type=_roi, action="append", metavar="X,Y,W,H",
                   help="a background rectangle in px (repeatable); default: found automatically")
    p.add_argument("--patch", type=int, default=64, help="NPS patch side in px (default 64)")
    p.add_argument("--read-noise", type=float, help="known read noise (counts RMS), for a single exposure level")
    p.add_argument("--dark-offset", type=float, help="known level at zero dose (counts)")
    p.add_argument("--bright-particles", action="store_true", help="particles brighter than the liquid (HAADF)")
    p.set_defaults(func=_calibrate)

    p = sub.add_parser("info", help="summarise a dataset")
    p.add_argument("dataset", type=Path)
    p.set_defaults(func=_info)

    p = sub.add_parser("export-ctc", help="write a dataset in the Cell Tracking Challenge layout")
    p.add_argument("dataset", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--with-result", action="store_true",
                   help="also write the ground truth as a perfect NN_RES result (to check the export)")
    p.set_defaults(func=_export_ctc)

    p = sub.add_parser("preview", help="save a PNG of frames with their ground-truth outlines")
    p.add_argument("dataset", type=Path)
    p.add_argument("--out", type=Path, default=Path("preview.png"))
    p.add_argument("--frames", type=int, default=3, help="how many frames to show")
    p.add_argument("--video", help="video id (default: the first)")
    p.set_defaults(func=_preview)

    p = sub.add_parser("verify", help="check a dataset or prediction folder against its manifest and schema",
                       description="Check every file of a dataset (dataset.json) or a prediction folder "
                                   "(predictions.json): sha256, TIFF shape and dtype.  Lists every file that "
                                   "fails on stdout; exit status 2 if any does.")
    p.add_argument("dataset", type=Path, help="dataset or prediction folder")
    p.set_defaults(func=_verify)
