"""action.yml: its shell steps, run with a stand-in for migration-lint and for pip."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def _step(step_id: str) -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s.get("id") == step_id)


def _fake(tmp_path: Path, name: str) -> Path:
    record = tmp_path / f"{name}.args"
    fake = tmp_path / name
    fake.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\nprintenv PIP_CONSTRAINT >> {record} || true\n')
    fake.chmod(0o755)
    return record


def _review_args(tmp_path: Path, **inputs: str) -> list[str]:
    record = _fake(tmp_path, "migration-lint")
    env = {"PATH": os.environ["PATH"], "MIGRATION_LINT": str(tmp_path / "migration-lint"), "INPUT_PATHS": "prisma/migrations",
           "INPUT_CONFIG": "", "INPUT_FAIL_ON": "", "INPUT_COMMENT": "true", "INPUT_STATS": "", "INPUT_ARGS": ""}
    env.update(inputs)
    subprocess.run(["bash", "-c", _step("review")["run"]], env=env, check=True, cwd=tmp_path)
    return record.read_text().splitlines()


def test_fail_on_input_defaults_to_empty():
    assert ACTION["inputs"]["fail-on"]["default"] == ""


def test_an_empty_fail_on_leaves_the_configuration_alone(tmp_path):
    args = _review_args(tmp_path)
    assert "--fail-on" not in args
    assert args == ["review", "--", "prisma/migrations"]


def test_an_explicit_fail_on_is_passed(tmp_path):
    args = _review_args(tmp_path, INPUT_FAIL_ON="warning", INPUT_CONFIG="lint.toml")
    assert args[:5] == ["review", "--fail-on", "warning", "--config", "lint.toml"]


@pytest.mark.parametrize(("value", "passed"), [("true", False), ("false", True), ("", False)])
def test_the_suggestions_input_turns_inline_suggestions_off_only_when_false(tmp_path, value, passed):
    args = _review_args(tmp_path, INPUT_SUGGESTIONS=value)
    assert ("--no-suggestions" in args) is passed
    assert ACTION["inputs"]["suggestions"]["default"] == "true"
    assert "INPUT_SUGGESTIONS" in _step("review")["env"]


def _install(tmp_path: Path, version: str) -> list[str]:
    python = tmp_path / "python"
    python.write_text(  # `python -m venv DIR` makes DIR/bin/python, a recorder of pip's arguments
        "#!/usr/bin/env bash\n"
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; cp "$0.pip" "$3/bin/python"; exit 0; fi\n')
    python.chmod(0o755)
    record = _fake(tmp_path, "python.pip")
    output = tmp_path / "output"
    env = {"PATH": os.environ["PATH"], "PYTHON": str(python), "VERSION": version, "ACTION_PATH": str(ROOT),
           "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(output)}
    subprocess.run(["bash", "-c", _step("install")["run"]], env=env, check=True, cwd=tmp_path)
    return record.read_text().splitlines()


def test_the_actions_own_ref_is_installed_with_the_constraints(tmp_path):
    args = _install(tmp_path, "")
    constraints = str(ROOT / "constraints.txt")
    assert args[-1] == constraints  # PIP_CONSTRAINT: the build backend too
    assert ["-c", constraints] == args[args.index("-c"):args.index("-c") + 2]
    assert f"{ROOT}[github]" in args


@pytest.mark.parametrize("version", ["latest", "v1.2.3"])
def test_a_pypi_version_is_installed_without_them(tmp_path, version):
    args = _install(tmp_path, version)
    assert "-c" not in args and not any(a.endswith("constraints.txt") for a in args)


def test_constraints_pin_every_runtime_dependency_exactly():
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not pinned exactly: {line}"
            pinned[name.lower().replace("_", "-")] = version
    for name in ("pglast", "pydantic", "jinja2", "orjson", "pygithub"):
        assert name in pinned, f"{name} is not in constraints.txt"


def test_third_party_actions_are_pinned_by_commit_sha():
    files = [ROOT / "action.yml", *(ROOT / ".github").rglob("*.y*ml")]
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.search(r"uses:\s*([^\s#]+)", line)
            if match and not match.group(1).startswith("./"):
                assert re.search(r"@[0-9a-f]{40}\s+#\s*v\d", line), f"{path.name}: not pinned by SHA with a version comment: {line.strip()}"
