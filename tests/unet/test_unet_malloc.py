"""unet.malloc: freed blocks stay in the process, so a repeated pass faults in no fresh pages."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

_SCRIPT = """
import resource, numpy as np
from unet.malloc import retain_freed_memory

def faults():
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):  # a 'pass': 25 buffers of 4 MiB, all freed at its end
        buffers = [np.ones(2**19) for _ in range(25)]
        del buffers
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0

faults()
before = faults()
assert retain_freed_memory() and retain_freed_memory()  # set once, True on glibc
faults()
print(before, faults())
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_retained_memory_is_reused_without_page_faults() -> None:
    """In a fresh process: 10 passes that allocate and free 100 MB fault in ~25,000 pages a pass
    (glibc gives the freed top of the heap back), and none once the thresholds are set."""
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True).stdout
    before, after = map(int, out.split())
    assert before > 50_000  # 10 passes x 100 MB: the pages come back fresh each pass
    assert after < before / 100
