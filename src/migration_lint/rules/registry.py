"""Rule registry: the built-in rules plus third-party rules from entry points.

Built-in rules are the modules of ``migration_lint.rules.builtin``, one rule class per
module; nothing else has to be edited to add one. Plugins register a rule
class (or a module holding rule classes) under the ``migration_lint.rules``
entry-point group. A plugin that fails to load is an error, never skipped.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from types import ModuleType

from migration_lint.rules.base import Rule

ENTRY_POINT_GROUP = "migration_lint.rules"


class RegistryError(Exception):
    """A rule (usually a plugin) cannot be loaded or is malformed."""


def _rules_in_module(module: ModuleType) -> list[type[Rule]]:
    found = []
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.__module__ == module.__name__:
            found.append(value)
    return found


def builtin_rules() -> list[type[Rule]]:
    from migration_lint.rules import builtin as package

    found: list[type[Rule]] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        classes = _rules_in_module(module)
        if len(classes) != 1:
            raise RegistryError(f"{module.__name__} must define exactly one rule class, found {len(classes)}")
        found.extend(classes)
    return found


def _may_have_plugins() -> bool:
    """False only when no installed distribution declares a rule plugin (a directory scan of a couple of
    milliseconds, where importlib.metadata takes tens: it matters when linting one file on commit)."""
    needle = ENTRY_POINT_GROUP.encode()
    for entry in sys.path:
        path = entry or "."
        if os.path.isfile(path):  # a zip of distributions: let importlib.metadata read it
            return True
        try:
            listing = os.scandir(path)
        except OSError:
            continue
        with listing:
            for item in listing:
                if item.name.endswith((".dist-info", ".egg-info")) or item.name == "EGG-INFO":
                    try:
                        with open(os.path.join(item.path, "entry_points.txt"), "rb") as handle:
                            if needle in handle.read():
                                return True
                    except OSError:
                        pass
    return False


def plugin_rules() -> list[type[Rule]]:
    if not _may_have_plugins():
        return []
    from importlib.metadata import entry_points

    found: list[type[Rule]] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:  # any import-time failure of a plugin
            raise RegistryError(f"rule plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}") from exc
        if isinstance(loaded, ModuleType):
            classes = _rules_in_module(loaded)
            if not classes:
                raise RegistryError(f"rule plugin {ep.name!r} ({ep.value}) defines no rule class")
            found.extend(classes)
        elif isinstance(loaded, type) and issubclass(loaded, Rule):
            found.append(loaded)
        else:
            raise RegistryError(f"rule plugin {ep.name!r} ({ep.value}) is not a migration_lint.rules.base.Rule subclass")
    return found


_CACHE: dict[str, type[Rule]] | None = None


def all_rules(*, plugins: bool = True) -> dict[str, type[Rule]]:
    """Every known rule by id (built-ins first). Raises RegistryError."""
    global _CACHE
    if _CACHE is not None and plugins:
        return _CACHE
    rules: dict[str, type[Rule]] = {}
    sources = builtin_rules() + (plugin_rules() if plugins else [])
    for rule in sources:
        problems = rule.validate_metadata()
        if problems:
            raise RegistryError(f"rule {rule.__module__}.{rule.__name__} is malformed: " + "; ".join(problems))
        if rule.id in rules and rules[rule.id] is not rule:
            raise RegistryError(f"two rules share the id {rule.id!r}: {rules[rule.id].__module__} and {rule.__module__}")
        rules[rule.id] = rule
    if plugins:
        _CACHE = rules
    return rules


def reset_cache() -> None:
    global _CACHE
    _CACHE = None
