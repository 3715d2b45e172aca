"""py-ctcmetrics' SEG of label frames: the reference that ``benchmarks/compare.py`` and the
pytest-benchmark group ``seg-vs-py-ctcmetrics`` (tests/simulator/test_perf_bench.py) time
nanoaquarium's SEG against (issue #8).  It is not used by the package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import tifffile

__all__ = ["py_ctcmetrics_seg"]


def py_ctcmetrics_seg(true: np.ndarray, pred: np.ndarray, folder: Path) -> Callable[[], float]:
    """Write the (T, Y, X) label frames into ``folder`` as TIFF files (py-ctcmetrics reads files;
    Cell Tracking Challenge names ``man_seg…``/``mask…``) and return the function that matches
    and scores them with py-ctcmetrics, pooled over all frames as the challenge's SEG is."""
    from ctc_metrics.metrics import seg as ctc_seg
    from ctc_metrics.utils.representations import match as ctc_match

    paths = []
    for f in range(len(true)):
        ref, res = Path(folder) / f"man_seg{f:03d}.tif", Path(folder) / f"mask{f:03d}.tif"
        tifffile.imwrite(ref, true[f])
        tifffile.imwrite(res, pred[f])
        paths.append((str(ref), str(res)))

    def seg() -> float:
        refs, ious = [], []
        for ref, res in paths:
            labels_ref, _, _, _, iou = ctc_match(ref, res)
            refs.append(labels_ref)
            ious.append(np.asarray(iou))
        return ctc_seg(refs, ious)

    return seg
