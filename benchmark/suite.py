"""The versioned benchmark suite ``lpem-bench v1``: scenarios × difficulty, generated from seeds.

Like the ISBI particle-tracking challenge (Chenouard et al., Nat. Methods 2014: every scenario at
SNR 1, 2, 4 and 7), every scenario preset is rendered at a ladder of dose rates, from hundreds of
e⁻/Å²/s (clean) down to a few (where Au particles stop being visible); the ``full`` tier adds a
thick-liquid level.  Test videos use seeds ``TEST_SEED + k``, and training data (for the tuner
and the U-Net) seeds ``TRAIN_SEED + k``, so they never overlap.

Generated suites are cached under ``$NANOAQ_CACHE`` (default ``~/.cache/nanoaquarium``), in a
folder named after a digest of the tasks and of the full configuration each one resolves to (so
that a changed preset or default is generated afresh), and reused when their checksum — the
sha256 over every dataset manifest's file checksums — matches.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from simulator import __version__
from simulator.config import load_config
from simulator.dataset import open_dataset, update_digest, write_dataset
from simulator.errors import UserError
from simulator.outfile import write_atomic
from simulator.parallel import check_dask, run_jobs

__all__ = ["SUITE_NAME", "SUITE_VERSION", "TIERS", "Task", "Suite", "suite_tasks", "spec_digest", "generate_suite", "cache_dir",
           "update_digest"]

SUITE_NAME = "lpem-bench"
SUITE_VERSION = "1"
TEST_SEED = 1_000
TRAIN_SEED = 2_000

SCENARIOS = ("brownian-prisms", "etching-rods", "assembly-cubes", "growth-coalescence", "low-contrast-polymer")

#: tier -> (dose rates e-/A^2/s, frames, size px, videos per task, extra liquid levels)
TIERS: dict[str, dict] = {
    "quick": {"doses": [200.0, 40.0, 8.0], "frames": 4, "size": 128, "videos": 1, "liquid": [None]},
    "standard": {"doses": [400.0, 100.0, 25.0, 10.0, 4.0], "frames": 8, "size": 256, "videos": 2, "liquid": [None]},
    "full": {"doses": [400.0, 100.0, 25.0, 10.0, 4.0], "frames": 20, "size": 256, "videos": 4, "liquid": [None, 500.0]},
}


@dataclass(frozen=True)
class Task:
    """One cell of the suite: a scenario at one difficulty level."""

    scenario: str
    dose_rate_e_per_A2_s: float
    liquid_thickness_nm: float | None
    overrides: tuple[str, ...]
    seed: int

    @property
    def name(self) -> str:
        liquid = f"-L{self.liquid_thickness_nm:g}" if self.liquid_thickness_nm else ""
        return f"{self.scenario}-d{self.dose_rate_e_per_A2_s:g}{liquid}"

    @property
    def level(self) -> str:
        return f"dose {self.dose_rate_e_per_A2_s:g}" + (f", liquid {self.liquid_thickness_nm:g} nm" if self.liquid_thickness_nm else "")


def suite_tasks(tier: str, *, split: str = "test") -> list[Task]:
    """The tasks of a tier, in a fixed order."""
    if tier not in TIERS:
        raise UserError(f"suite {tier!r} is unknown; valid suites: {', '.join(TIERS)}")
    spec = TIERS[tier]
    base = TEST_SEED if split == "test" else TRAIN_SEED
    tasks = []
    k = 0
    for scenario in SCENARIOS:
        for liquid in spec["liquid"]:
            for dose in spec["doses"]:
                ov = [f"video.frames={spec['frames']}", f"video.height_px={spec['size']}",
                      f"video.width_px={spec['size']}", f"video.count={spec['videos']}",
                      f"imaging.dose_rate_e_per_A2_s={dose}"]
                if liquid:
                    ov.append(f"liquid.thickness_nm={liquid}")
                tasks.append(Task(scenario, dose, liquid, tuple(ov), base + k))
                k += 1
    return tasks


def cache_dir() -> Path:
    return Path(os.environ.get("NANOAQ_CACHE", Path.home() / ".cache" / "nanoaquarium"))


@dataclass(frozen=True)
class Suite:
    """A generated suite on disk."""

    name: str
    tier: str
    path: Path
    tasks: tuple[Task, ...]
    checksum: str

    def dataset(self, task: Task) -> Path:
        return self.path / task.name


def _checksum(path: Path, tasks: list[Task]) -> str:
    h = hashlib.sha256()
    for task in tasks:
        update_digest(h, open_dataset(path / task.name).manifest, f"{task.name}/")
    return h.hexdigest()


def spec_digest(tasks: list[Task]) -> str:
    """12 hex digits of the sha256 of the tasks, the full configuration each resolves to and the
    package version: a change of a preset or of a default (recorded in every video's
    ``config.json``) names a new suite folder instead of reusing a stale one."""
    configs = [load_config(t.scenario, overrides=list(t.overrides)).model_dump(mode="json") for t in tasks]
    spec = json.dumps([[t.__dict__ for t in tasks], configs], sort_keys=True, default=str)
    return hashlib.sha256(spec.encode() + __version__.encode()).hexdigest()[:12]


def _generate_task(scenario: str, overrides: list[str], out: str, seed: int) -> str:
    """Write one task's dataset (a job of :func:`simulator.parallel.run_jobs`)."""
    write_dataset(load_config(scenario, overrides=overrides), Path(out), seed=seed, workers=1, progress=False)
    return out


def generate_suite(tier: str = "quick", *, split: str = "test", root: Path | None = None,
                   progress: bool = True, workers: int | None = 1, dask: str | None = None) -> Suite:
    """Generate (or reuse from the cache) the suite's datasets; return it with its checksum.

    The tasks' datasets are written in parallel by ``workers`` processes (None: one per core) or
    on a Dask cluster (``dask``, see :func:`simulator.parallel.run_jobs`); the bytes do not depend
    on it."""
    from tqdm.auto import tqdm

    check_dask(dask)
    tasks = suite_tasks(tier, split=split)
    # spec_digest resolves every task's configuration: a config error surfaces here, before any folder
    path = (root or cache_dir()) / f"{SUITE_NAME}-v{SUITE_VERSION}-{tier}-{split}-{spec_digest(tasks)}"
    path.mkdir(parents=True, exist_ok=True)
    stamp = path / "suite.json"
    if stamp.is_file():
        recorded = json.loads(stamp.read_text())
        try:
            if _checksum(path, tasks) == recorded.get("checksum"):
                return Suite(SUITE_NAME, tier, path, tuple(tasks), recorded["checksum"])
        except UserError:
            pass
        stamp.unlink()
    jobs = []
    for task in tasks:
        out = path / task.name
        if out.exists() and not (out / "dataset.json").is_file():
            shutil.rmtree(out)
        jobs.append((task.scenario, list(task.overrides), str(out), task.seed))
    for _ in tqdm(run_jobs(_generate_task, jobs, workers=workers, dask=dask), total=len(jobs),
                  desc=f"generate {tier} suite", unit="task", disable=not progress):
        pass
    checksum = _checksum(path, tasks)
    write_atomic(stamp, json.dumps({"name": SUITE_NAME, "version": SUITE_VERSION, "tier": tier, "split": split,
                                    "checksum": checksum}, indent=2))
    return Suite(SUITE_NAME, tier, path, tuple(tasks), checksum)
