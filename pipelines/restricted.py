"""Folders for what only the pipeline's own user may read: staging, error logs, the key."""

from __future__ import annotations

from pathlib import Path


def restricted_folder(path: Path) -> Path:
    """Create `path` and any missing parents readable by their owner only (0700).

    `mkdir(parents=True, mode=...)` applies the mode to the last folder alone; the
    parents would get the umask's, usually world-readable.
    """
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
    return path
