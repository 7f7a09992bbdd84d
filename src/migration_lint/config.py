"""Configuration: ``[tool.migration-lint]`` in pyproject.toml or ``migration-lint.toml``.

The file is found upward from the working directory (or named with
``--config``) and validated with pydantic; an unknown key is an error that
names it. pydantic is imported only when a file is actually validated.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from migration_lint.model import Severity


def _toml():
    """tomllib, imported only when there is a configuration file to read."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found]
    return tomllib

FAIL_ON = ("error", "warning", "info", "never")
FRAMEWORK_CHOICES = ("auto", "prisma", "drizzle", "flyway", "golang-migrate", "dbmate", "supabase", "diesel", "plain")
CURRENT_PRISMA = "7.4"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the key."""


def parse_pg_version(value: Any) -> float:
    """``11`` / ``"11"`` / ``"11.0"`` / ``"11.4"`` → 11.0; ``"9.6"`` → 9.6 (numeric comparison)."""
    text = str(value).strip()
    try:
        parts = [int(p) for p in text.split(".")]
    except ValueError:
        raise ValueError(f"pg_version must be a PostgreSQL version like 15 or 9.6, not {value!r}") from None
    if not parts or parts[0] <= 0:
        raise ValueError(f"pg_version must be a PostgreSQL version like 15 or 9.6, not {value!r}")
    if parts[0] >= 10:
        return float(parts[0])
    minor = parts[1] if len(parts) > 1 else 0
    return parts[0] + minor / 10


def parse_version_tuple(value: str) -> tuple[int, ...]:
    out = []
    for part in str(value).split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


@dataclass
class Config:
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    pg_version: Any = 15
    framework: str = "auto"
    prisma_version: str = CURRENT_PRISMA
    fail_on: str = "error"
    include_down: bool = False
    exclude: list[str] = field(default_factory=list)
    runner_sets_timeouts: bool = False
    flyway_mixed: bool = False
    timezone_utc: bool = True
    placeholders: dict[str, str] = field(default_factory=dict)
    docs_url: str | None = None
    stats: str | None = None  # table sizes (migration-lint stats), relative to the config file
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    cache: bool = True  # reuse reports of unchanged migrations (cache.py)
    source: str | None = None  # the file it came from (not a key)
    prisma_version_from: str | None = None  # where prisma_version came from: None (the default), a file, --prisma-version


    def __post_init__(self) -> None:
        self.pg_version = parse_pg_version(self.pg_version)

    @property
    def prisma_legacy(self) -> bool:
        """Prisma before 7.4 sends a whole migration.sql as one query (one implicit transaction)."""
        return prisma_legacy(self.prisma_version)

    @property
    def prisma_version_set(self) -> bool:
        """Set by the configuration file or --prisma-version (not taken from a package.json)."""
        return self.prisma_version_from is not None and self.prisma_version_from in ("--prisma-version", self.source)


def prisma_legacy(version: str) -> bool:
    return parse_version_tuple(version) < parse_version_tuple(CURRENT_PRISMA)


_KEYS = {f.name for f in fields(Config)} - {"source", "prisma_version_from"}


def _validate(data: dict[str, Any], source: str) -> Config:
    from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

    class Model(BaseModel):
        model_config = ConfigDict(extra="forbid")
        select: list[str] | None = None
        ignore: list[str] = []
        severity: dict[str, Literal["error", "warning", "info"]] = {}
        pg_version: int | float | str = 15
        framework: Literal[FRAMEWORK_CHOICES] = "auto"  # type: ignore[valid-type]
        prisma_version: str = CURRENT_PRISMA
        fail_on: Literal[FAIL_ON] = "error"  # type: ignore[valid-type]
        include_down: bool = False
        exclude: list[str] = []
        runner_sets_timeouts: bool = False
        flyway_mixed: bool = False
        timezone_utc: bool = True
        placeholders: dict[str, str] = {}
        docs_url: str | None = None
        stats: str | None = None
        rules: dict[str, dict[str, Any]] = {}
        cache: bool = True

        @field_validator("pg_version")
        @classmethod
        def _pg(cls, value: Any) -> Any:
            parse_pg_version(value)
            return value

    try:
        model = Model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = ".".join(str(p) for p in error["loc"])
            if error["type"] == "extra_forbidden":
                problems.append(f"unknown key `{loc}`")
            else:
                problems.append(f"`{loc}`: {error['msg']}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None
    values = model.model_dump()
    here = Path(source).parent
    if values.get("stats"):
        values["stats"] = str(here / values["stats"])
    # exclude patterns are relative to the configuration file's folder (one starting with ** matches anywhere)
    values["exclude"] = [p if p.startswith(("**", "/")) else (here.absolute() / p).as_posix() for p in values["exclude"]]
    return Config(**values, source=source, prisma_version_from=source if "prisma_version" in model.model_fields_set else None)


def find_config(start: Path | None = None, *, stop_at_git_root: bool = False) -> Path | None:
    """The nearest migration-lint.toml, or pyproject.toml with a [tool.migration-lint] table, upward from
    `start` (default: the working directory); with `stop_at_git_root`, not above the repository's root
    (the first directory with a `.git`)."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        found = _config_in(directory)
        if found is not None:
            return found
        if stop_at_git_root and (directory / ".git").exists():
            return None
    return None


def _config_in(directory: Path) -> Path | None:
    candidate = directory / "migration-lint.toml"
    if candidate.is_file():
        return candidate
    candidate = directory / "pyproject.toml"
    if candidate.is_file():
        try:
            text = candidate.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        if "[tool.migration-lint" in text:
            return candidate
    return None


def nearest_dir(raw: str) -> Path:
    """The directory of a command-line path (a file's parent; a glob's fixed part), absolute."""
    parts = []
    for part in Path(raw).parts:
        if any(ch in part for ch in "*?["):
            break
        parts.append(part)
    path = (Path(*parts) if parts else Path(".")).absolute()
    while not path.is_dir() and path != path.parent:
        path = path.parent
    return path


def find_config_for(paths: list[str]) -> Path | None:
    """The configuration of the linted paths: the nearest one upward from the first path that has one,
    within its git repository; else the nearest one upward from the working directory."""
    for raw in paths:
        if raw == "-" or not raw:
            continue
        found = find_config(nearest_dir(raw), stop_at_git_root=True)
        if found is not None:
            return found
    return find_config()


def load_config(path: Path | None = None, *, search: bool = True, paths: list[str] | None = None) -> Config:
    """Load and validate a config file; without one, the nearest one to `paths` (or the working
    directory), or the defaults."""
    if path is None and search and not os.environ.get("MIGRATION_LINT_NO_CONFIG"):
        path = find_config_for(paths or [])
    if path is None:
        return Config()
    display = str(path)
    tomllib = _toml()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{display}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{display}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{display}: invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        data = raw.get("tool", {}).get("migration-lint")
        if data is None:
            if search:
                return Config()
            raise ConfigError(f"{display}: no [tool.migration-lint] table")
    else:
        data = raw
    if not isinstance(data, dict):
        raise ConfigError(f"{display}: [tool.migration-lint] must be a table")
    return _validate(data, display)


def check_rule_ids(config: Config, known: set[str]) -> None:
    """Unknown rule ids in select/ignore/severity/rules are configuration errors."""
    source = config.source or "configuration"
    for key, ids in (("select", config.select or []), ("ignore", config.ignore), ("severity", list(config.severity)),
                     ("rules", list(config.rules))):
        for rule_id in ids:
            if rule_id != "ALL" and rule_id not in known:
                raise ConfigError(f"{source}: `{key}` names unknown rule `{rule_id}` (see `migration-lint rules`)")


def rule_options(config: Config, rule: Any) -> Any:
    """The validated options of one rule (its `Options` dataclass)."""
    raw = config.rules.get(rule.id)
    if rule.Options is None:
        if raw:
            raise ConfigError(f"{config.source or 'configuration'}: rule `{rule.id}` takes no options")
        return None
    if not raw:
        return rule.Options()
    from pydantic import ConfigDict, TypeAdapter, ValidationError

    options_cls = rule.Options
    if not hasattr(options_cls, "__pydantic_config__"):
        options_cls.__pydantic_config__ = ConfigDict(extra="forbid")
    try:
        return TypeAdapter(options_cls).validate_python(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = ".".join(str(p) for p in error["loc"])
            problems.append(f"unknown key `{loc}`" if error["type"] == "unexpected_keyword_argument" or error["type"] == "extra_forbidden" else f"`{loc}`: {error['msg']}")
        raise ConfigError(f"{config.source or 'configuration'}: rules.{rule.id}: " + "; ".join(problems)) from None


def effective_severity(config: Config, rule: Any) -> Severity:
    value = config.severity.get(rule.id)
    return Severity(value) if value else rule.severity
