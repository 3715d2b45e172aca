"""Keep freed memory in the process: glibc's malloc tuned for the network's large CPU buffers.

Every forward and backward pass on the CPU allocates and frees buffers of a few MB (a 576×576
stack of 12 channels is 16 MB in float32).  glibc serves blocks above its mmap threshold (128 KiB
at first, raised at most to 32 MiB as such blocks are freed) with a fresh ``mmap`` and returns
them with ``munmap``, and gives the top of the heap back above its trim threshold, so each pass
touches its buffers' pages anew: a page fault and a page of zeros from the kernel per 4 KiB.
Measured on the shipped model (2 cores of an AMD EPYC): ``segment()`` of a 512×512 frame took
~22,000 minor page faults, 500–850 with the settings below, and ran at 10.1–12.4 instead of
7.1–9.0 frames/s; 500 steps of the shipped training command 1.58 million faults and 4.6 s of
system time, 0.20 million and 1.4 s with them, and the same weights (``/usr/bin/time``).

:func:`retain_freed_memory` sets both thresholds once (``mallopt``, the same as the environment
variables ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824``): blocks up
to 32 MiB come from the heap and freed ones stay there for the next pass, at the price of a
resident size that stays at its peak until the process ends.  It changes no result, only where
the bytes live.  The setting holds for the whole process (a notebook that calls ``segment()``
keeps it), and it is not made where the user has set glibc's own variables for it
(:data:`USER_SETTINGS`) or where the C library is not glibc (macOS, musl).
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform

__all__ = ["retain_freed_memory", "MMAP_THRESHOLD", "TRIM_THRESHOLD", "USER_SETTINGS"]

log = logging.getLogger(__name__)

#: Blocks below this come from the heap (glibc's largest mmap threshold on 64-bit, 32 MiB).
MMAP_THRESHOLD = 32 * 2**20
#: Free memory at the top of the heap is given back to the system only beyond this.
TRIM_THRESHOLD = 2**30
#: Environment variables by which a user tunes glibc's malloc; with any of them set, theirs stands.
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h

_done: bool | None = None


def retain_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds, once per process; True where they are set."""
    global _done
    if _done is None:
        _done = False
        if any(name in os.environ for name in USER_SETTINGS):
            log.debug("malloc left as set by the environment (%s)", ", ".join(USER_SETTINGS))
        elif platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            try:
                libc = ctypes.CDLL(None)  # the process's own symbols: glibc's mallopt among them
                _done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
                    bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
            except (OSError, AttributeError) as exc:  # no loadable C library, or no mallopt in it
                log.debug("mallopt not available: %s", exc)
    return _done
