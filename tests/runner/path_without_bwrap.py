"""A PATH on which bubblewrap is missing but every other program is there, as on a machine
without the `bubblewrap` package: a directory of links to each program of the real PATH except
`bwrap`. Tests put it in front of nothing: it replaces PATH whole."""

from __future__ import annotations

import os
from pathlib import Path


def path_without_bwrap(directory: Path, path: str | None = None) -> str:
    """Fill `directory` with links to the programs on `path` (default: this process's PATH),
    leaving out `bwrap`; answer the new PATH value (just `directory`)."""
    directory.mkdir(parents=True, exist_ok=True)
    for entry in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep):
        folder = Path(entry)
        if not entry or not folder.is_dir():
            continue
        for program in folder.iterdir():
            link = directory / program.name
            if program.name == "bwrap" or link.exists() or link.is_symlink():
                continue
            if program.is_file() and os.access(program, os.X_OK):
                link.symlink_to(program.resolve())
    return str(directory)
