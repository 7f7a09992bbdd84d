"""`migration-lint lsp`: a language server over stdio (needs the `lsp` extra: pygls)."""

from __future__ import annotations

import argparse
from pathlib import Path

from migration_lint.cli.common import EXIT_OK, EXIT_USAGE, _common, _err

_DEPENDENCIES = ("pygls", "lsprotocol", "cattrs", "attrs", "attr")
INSTALL_HINT = "the language server needs pygls: pip install 'pg-migration-lint[lsp]'"


def cmd_lsp(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="migration-lint lsp",
        description="Run a language server over stdio: diagnostics, lock hovers and quick fixes for SQL migrations.",
    )
    parser.add_argument("--stdio", action="store_true", help="talk over standard input and output (the default and only transport)")
    _common(parser)
    args = parser.parse_args(argv)
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401

        from migration_lint.cli.lsp.server import serve
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in _DEPENDENCIES:
            raise
        _err(INSTALL_HINT)
        return EXIT_USAGE
    if args.config:  # a configuration named on the command line must be valid; found ones are reported in the editor
        from migration_lint.config import ConfigError, check_rule_ids, load_config
        from migration_lint.rules.registry import all_rules

        try:
            check_rule_ids(load_config(Path(args.config), search=False), set(all_rules()))
        except (ConfigError, ValueError) as exc:
            _err(str(exc))
            return EXIT_USAGE
    serve(Path(args.config) if args.config else None, use_config=not args.no_config)
    return EXIT_OK
