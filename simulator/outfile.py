"""Output files: checking where one goes before the work, and writing it whole or not at all.

Every output file that stands alone goes through :func:`write_atomic` (datasets' manifests,
results, tuned parameters, calibrations, previews, models, checkpoints, reports); the files inside a
folder written as ``<name>.partial`` and renamed when complete (a dataset's videos, an export) are
written directly.  A command's ``--out`` file is checked with :func:`check_out_file` before the
work that the file will hold.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from .errors import UserError

__all__ = ["check_out_file", "write_atomic"]


def check_out_file(path: str | os.PathLike[str], *, expected: str, example: str, option: str = "--out") -> Path:
    """``path`` as a Path, or a one-line UserError naming ``option`` (``--out``) when its folder
    does not exist or it is a folder itself.

    Call it before long work, so that a mistyped ``--out`` fails at once rather than at the end.

    Parameters
    ----------
    path : the output file
    expected : what the file is, for the message (``"a JSON file"``)
    example : a file name suggested inside ``path`` when ``path`` is a folder (``"params.json"``)
    option : the command-line option that named ``path``, for the message
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise UserError(f"{option} {path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise UserError(f"{option} {path}: is a folder; expected {expected}, e.g. {path / example}")
    return path


def write_atomic(path: str | os.PathLike[str], content: str | Callable[[str], object]) -> Path:
    """Write ``path`` whole or not at all; return it as a Path.

    The file is written under a temporary name of its own beside it, ``.<name>.<random>.tmp``
    (created exclusively with mode 0o666, so that the umask gives it an ordinary file's
    permissions), then renamed over ``path``: an error or a kill leaves the previous file, if any, intact.  An error removes the
    temporary file; one left by a kill stays, hidden, until removed by hand (no later write uses
    its name).  Two processes writing the same ``path`` at once each write their own temporary
    file: ``path`` ends as the whole file of whichever renamed last.

    Parameters
    ----------
    path : the file; its folder must exist
    content : text, written as UTF-8, or a function that writes the file whose name (str) it is
        given, e.g. ``lambda tmp: torch.save(state, tmp)``; the file exists, empty, when it is called
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        if isinstance(content, str):
            tmp.write_text(content, encoding="utf-8")
        else:
            content(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
