from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast

DEFAULT_ACTIONS = [
    "add", "remove", "drop", "delete", "create", "rename", "alter", "change", "update", "fix", "migrate", "enable",
    "disable", "backfill", "set", "unset", "make", "allow", "move", "replace", "split", "merge", "extend", "increase",
    "decrease", "index", "seed", "revert", "restore", "convert", "introduce", "deprecate", "cleanup", "clean",
    "modify", "populate", "normalize", "grant", "revoke", "insert", "init", "initial", "support", "switch", "reset",
    "link", "unlink", "sync", "store", "track", "require", "relax", "expand", "contract", "partition", "archive",
    "refactor", "recreate", "rebuild", "reindex", "optimize", "upgrade", "downgrade", "truncate", "attach", "detach",
    "validate", "adjust", "apply", "use", "default",
]
GENERIC_WORDS = [
    "schema", "schemas", "db", "database", "table", "tables", "model", "models", "change", "changes", "stuff",
    "things", "misc", "migration", "migrations", "data", "field", "fields", "column", "columns", "it", "all", "some",
    "more", "new", "tmp", "temp", "wip", "test", "tests", "various", "minor", "small", "stuff", "update", "updates",
    "fix", "fixes", "bug", "bugs", "issue", "issues", "copy", "again", "final", "latest", "prisma", "structure",
]
_WORD_SPLIT = re.compile(r"[_\-]+")


@dataclass
class Options:
    #: words a migration name may start with
    actions: list[str] = field(default_factory=lambda: list(DEFAULT_ACTIONS))
    #: words that do not name an entity on their own
    generic_words: list[str] = field(default_factory=lambda: list(GENERIC_WORDS))
    #: a regular expression the whole name must match instead of the action check ("" = use actions)
    pattern: str = ""


class MigrationName(Rule):
    """A migration name that does not say what the migration does.

    Names follow `<action>_<entity>` in snake or kebab case:
    `add_<field>_to_<table>`, `remove_<field>_from_<table>`,
    `rename_<old>_to_<new>_in_<table>`, `create_<table>`, `drop_<table>`,
    `add_index_<column>_<table>`, `enable_rls_<table>`,
    `migrate_<description>`, `add-user-profile-table`, `fix-…`, `update-…`.
    The name is the Prisma/Diesel folder name without its timestamp, the Flyway
    description, or the file stem without its version. The finding suggests a
    name built from the migration's own statements.

    ## Why is this bad?
    The migration history is the schema's changelog. `update_schema`,
    `changes` or `new_models copy` say nothing when you look for the migration
    that dropped a column during an incident, and a copied folder name usually
    means a migration was duplicated by hand.

    ## Example
    ```sql
    -- prisma/migrations/20261120093000_update_schema/migration.sql
    ALTER TABLE client_kpi ADD COLUMN company_size integer;
    ```

    ## Use instead
    ```sql
    -- prisma/migrations/20261120093000_add_company_size_to_client_kpi/migration.sql
    ALTER TABLE client_kpi ADD COLUMN company_size integer;
    ```

    ## When it's fine
    Rename a migration only before it has been applied anywhere. Teams with
    another convention set `actions`, `generic_words` or `pattern` in
    `[tool.migration-lint.rules.migration-name]`.

    ## References
    - Prisma: [prisma migrate dev --name](https://www.prisma.io/docs/orm/reference/prisma-cli-reference#migrate-dev)
    - Flyway: [Naming patterns](https://documentation.red-gate.com/fd/migrations-184127470.html)
    """

    id = "migration-name"
    summary = "Migration names must read <action>_<entity> in snake or kebab case (add_company_size_to_client_kpi)"
    severity = Severity.WARNING
    migration = True
    Options = Options

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        name = ctx.file.name
        if not name:
            return
        problem = self.problem(name, lambda: _identifiers(ctx))
        if problem is None:
            return
        suggestion = suggest_name(ctx)
        help_text = "Name the action and the entity, e.g. `add_company_size_to_client_kpi`, `create_audit_logs`."
        if suggestion:
            help_text = f"From its statements, a descriptive name would be `{suggestion}`."
        if ctx.file.framework == "prisma":
            help_text += " Rename the folder only if the migration has not been applied anywhere yet (`prisma migrate dev --name …`)."
        else:
            help_text += " Rename the file only if the migration has not been applied anywhere yet."
        yield ctx.file_finding(f"migration name `{name}` {problem}", help=help_text)

    def problem(self, name: str, identifiers=lambda: frozenset()) -> str | None:
        """What is wrong with the name (None if nothing).

        `identifiers()` gives the words the migration's tables and columns use (computed only when needed).
        """
        options = self.options
        name = _LEADING_VERSION.sub("", name) or name
        if options.pattern:
            return None if re.fullmatch(options.pattern, name) else f"does not match the pattern `{options.pattern}`"
        if re.search(r"\s", name):
            return "contains white space (a copied folder?); use snake_case or kebab-case"
        if re.search(r"[a-z][A-Z]", name):
            return "is camelCase; use snake_case or kebab-case"
        if not re.fullmatch(r"[A-Za-z0-9]+(?:[_\-]+[A-Za-z0-9]+)*", name):
            return "has characters other than letters, digits, `_` and `-`"
        words = [w.lower() for w in _WORD_SPLIT.split(name) if w]
        if not words or all(w.isdigit() for w in words):
            return "is only a number or a date: it does not say what the migration does"
        actions = {a.lower() for a in options.actions}
        first = _base_verb(words[0], actions)
        if first in ("init", "initial") and all(w in ("init", "initial", "schema", "migration", "db", "database") for w in words):
            return None
        bare = re.fullmatch(r"([a-z]+)(\d+)", first)
        if bare and bare.group(1) in actions and len(words) == 1:
            return "is vague: an action with a number does not say what changed"
        if first not in actions:
            shown = ", ".join(sorted(actions)[:8])
            return f"does not start with an action ({shown}, …)"
        rest = [w for w in words[1:] if not w.isdigit()]
        generic = {w.lower() for w in options.generic_words}
        if not rest:
            return "is vague: it names an action but no entity"
        if all(w in generic for w in rest) and not any(_singular(w) in identifiers() for w in rest):
            return "is vague: it names no table, column or feature"
        return None


_LEADING_VERSION = re.compile(r"^v?\d+(?:\.\d+)+[_\-]+", re.I)


def _base_verb(word: str, actions: set[str]) -> str:
    """`added` → `add`, `removes` → `remove`, `dropping` → `drop` (when the base is an action)."""
    if word in actions:
        return word
    candidates = []
    for suffix in ("ed", "d", "es", "s", "ing"):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            stem = word[: -len(suffix)]
            candidates += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:  # dropped → drop
                candidates.append(stem[:-1])
    for candidate in candidates:
        if candidate in actions:
            return candidate
    return word


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _identifiers(ctx: Context) -> frozenset[str]:
    """Lower-case words of the table and column names the migration's statements use."""
    words: set[str] = set()
    for stmt in ctx.statements:
        for rv in ast.rangevars(stmt.node):
            words.update(_singular(w) for w in _word(rv.get("relname", "")).split("_") if w)
        for kind, value in ast.walk(stmt.node):
            if kind == "ColumnDef" and value.get("colname"):
                words.update(_singular(w) for w in _word(value["colname"]).split("_") if w)
    return frozenset(words)


def suggest_name(ctx: Context) -> str:
    """A descriptive name from the migration's first meaningful statement ("" if none)."""
    for stmt in ctx.statements:
        node_type, node = stmt.node_type, stmt.node
        if node_type == "CreateStmt":
            return f"create_{_word(ast.relation_name(node.get('relation')))}"
        if node_type == "IndexStmt":
            columns = [ast.unwrap(p)[1].get("name") or "expr" for p in node.get("indexParams") or ()]
            return f"add_index_{'_'.join(_word(c) for c in columns)}_{_word(ast.relation_name(node.get('relation')))}"
        if node_type == "DropStmt" and node.get("removeType") == "OBJECT_TABLE":
            names = ast.strings(ast.unwrap((node.get("objects") or [{}])[0])[1].get("items"))
            return f"drop_{_word(names[-1] if names else 'table')}"
        if node_type == "RenameStmt" and node.get("renameType") == "OBJECT_COLUMN":
            return f"rename_{_word(node.get('subname', ''))}_to_{_word(node.get('newname', ''))}_in_{_word(ast.relation_name(node.get('relation')))}"
        if node_type == "RenameStmt" and node.get("renameType") == "OBJECT_TABLE":
            return f"rename_{_word(ast.relation_name(node.get('relation')))}_to_{_word(node.get('newname', ''))}"
        if node_type == "AlterTableStmt":
            table = _word(ast.relation_name(node.get("relation")))
            for item in node.get("cmds") or ():
                _, cmd = ast.unwrap(item)
                subtype = cmd.get("subtype")
                if subtype == "AT_AddColumn":
                    return f"add_{_word(ast.unwrap(cmd.get('def'))[1].get('colname', ''))}_to_{table}"
                if subtype == "AT_DropColumn":
                    return f"remove_{_word(cmd.get('name', ''))}_from_{table}"
                if subtype == "AT_EnableRowSecurity":
                    return f"enable_rls_{table}"
                if subtype == "AT_AddConstraint":
                    return f"add_constraint_to_{table}"
                if subtype in ("AT_AlterColumnType", "AT_SetNotNull", "AT_DropNotNull", "AT_ColumnDefault"):
                    return f"alter_{_word(cmd.get('name', ''))}_in_{table}"
        if node_type in ("UpdateStmt", "InsertStmt", "DeleteStmt"):
            return f"migrate_{_word(ast.relation_name(node.get('relation')))}_data"
    return ""


def _word(name: str) -> str:
    name = name.split(".")[-1]
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
