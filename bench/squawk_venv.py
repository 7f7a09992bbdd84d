"""squawk (the incumbent linter, a Rust binary from PyPI's squawk-cli) for the comparison scripts.

Installed into a temporary virtual environment: it is a yardstick, never a dependency.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

SQUAWK_VERSION = "2.70.0"


def squawk_binary(explicit: str | None) -> tuple[str, tempfile.TemporaryDirectory | None]:
    """`explicit` if given, else squawk-cli installed into a temporary venv (clean it up when done)."""
    if explicit:
        return explicit, None
    tmp = tempfile.TemporaryDirectory(prefix="squawk-")
    subprocess.run([sys.executable, "-m", "venv", tmp.name], check=True)
    pip = Path(tmp.name) / "bin" / "pip"
    subprocess.run([str(pip), "install", "-q", f"squawk-cli=={SQUAWK_VERSION}"], check=True)
    return str(Path(tmp.name) / "bin" / "squawk"), tmp
