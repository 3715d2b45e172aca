"""unet.malloc: freed blocks stay in the process, so a repeated pass faults in no fresh pages."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import unet.infer
import unet.malloc
import unet.train
from unet.model import UNet
from unet.train import TrainConfig

glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                           reason="glibc's mallopt")

#: In a fresh process, optionally set the thresholds first, then run one 'pass' (25 buffers of
#: 4 MiB, all freed at its end) and count the minor page faults of 10 more.
_SCRIPT = """
import resource, sys
import numpy as np
from unet.malloc import retain_freed_memory

def one_pass():
    buffers = [np.ones(2**19) for _ in range(25)]
    del buffers

if sys.argv[1] == "set":
    assert retain_freed_memory() and retain_freed_memory()  # True, and again on a second call
one_pass()  # the first pass faults its pages in whatever the setting
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    one_pass()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def _faults(mode: str, **env: str) -> int:
    clean = {k: v for k, v in os.environ.items() if k not in unet.malloc.USER_SETTINGS}
    out = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, check=True,
                         env={**clean, **env}).stdout
    return int(out)


@glibc
def test_retained_memory_is_reused_without_page_faults() -> None:
    """After a first pass, 10 more passes of 100 MB each fault in fresh pages (glibc maps the blocks
    afresh or gives the freed heap back), and almost none once both thresholds are set (either
    alone faults as much as neither: setting one stops glibc's own adjustment of the other)."""
    before, after = _faults("plain"), _faults("set")
    assert before > 50_000
    assert after < before / 100


@glibc
def test_a_users_own_malloc_settings_are_left_alone() -> None:
    """With glibc's variables set by the user, the call sets nothing (and says so)."""
    script = "from unet.malloc import retain_freed_memory as r; print(r())"
    for name in unet.malloc.USER_SETTINGS:
        env = {**os.environ, name: "glibc.malloc.trim_threshold=0" if name == "GLIBC_TUNABLES" else "0"}
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
        assert out.stdout.strip() == "False", name


def test_inference_and_training_set_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(unet.infer, "retain_freed_memory", lambda: calls.append("infer") or True)
    monkeypatch.setattr(unet.train, "retain_freed_memory", lambda: calls.append("train") or True)
    torch.manual_seed(0)
    model = UNet(in_channels=1, depth=1, base_width=2).eval()
    list(unet.infer.logits_of_normalized(np.zeros((1, 8, 8), np.float32), model))
    assert calls == ["infer"]

    def clip(rng, frames, size):  # type: ignore[no-untyped-def]
        from unet.data import Clip
        return Clip(rng.random((frames, size, size)).astype(np.float32), np.zeros((frames, size, size), np.int32),
                    False)

    unet.train.train(tmp_path / "m", TrainConfig(steps=1, crop=8, context=1, depth=1, base_width=2, val_clips=1,
                                                 batch_size=1, margin=0), source=clip, progress=False)
    assert calls[-1] == "train"
