"""Files that hold personal data: written readable by the service's user only, and kept for a while.

Uploaded report files and the quarantine copies of their rejected lines hold victims' names, ID and
card numbers in clear. They are created with mode 0600 (never world- or group-readable, whatever the
umask), and deleted once older than the retention period (`PINGAN_UPLOAD_RETENTION_DAYS`).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

PRIVATE_MODE = 0o600


def write_private(path: Path, data: bytes | str) -> Path:
    """Write `data` to `path` with mode 0600, replacing any file there."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)  # an existing file keeps its old mode through O_CREAT
        with os.fdopen(fd, "wb", closefd=False) as fh:
            fh.write(raw)
    finally:
        os.close(fd)
    return path


def append_private(path: Path, text: str) -> Path:
    """Append `text` to `path`, creating it with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_MODE)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(text)
    return path


def purge_older_than(folder: Path, retention: timedelta, *, now: datetime) -> list[Path]:
    """Delete the files in `folder` last modified before `now - retention`; return what was deleted."""
    if not folder.is_dir():
        return []
    cutoff = (now - retention).timestamp()
    gone = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            gone.append(path)
    return gone
