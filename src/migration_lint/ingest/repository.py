"""Where a file sits in its git repository: the root (the nearest folder upward with a `.git`) and the
file's path from there, as GitHub names files (annotations, code scanning, review comments)."""

from __future__ import annotations

import os
from pathlib import Path


def git_root(start: Path, known: dict[Path, Path | None] | None = None) -> Path | None:
    """The repository root at or above `start` (a folder, or a file's folder); None outside a repository.
    `known`: answers kept by the caller for the folders already asked about (never kept here: a
    long-running process sees `git init`)."""
    start = Path(os.path.normpath(str(start.absolute())))
    directory = start.parent if start.is_file() else start
    if known is not None and directory in known:
        return known[directory]
    root = None
    for folder in (directory, *directory.parents):
        if (folder / ".git").exists():  # a folder, or a file in a worktree or submodule
            root = folder
            break
    if known is not None:
        known[directory] = root
    return root


def in_repository(path: Path, known: dict[Path, Path | None] | None = None) -> tuple[Path, str] | None:
    """(root, the path from the root in `/` form) for a file inside a git repository, else None."""
    root = git_root(path, known)
    if root is None:
        return None
    absolute = Path(os.path.normpath(str(path.absolute())))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return None
    return root, relative.as_posix()
