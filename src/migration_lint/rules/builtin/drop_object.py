from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from migration_lint.facts.context import Context
from migration_lint.facts.objects import object_kind, object_name
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast

_WHAT = {"OBJECT_VIEW": "view", "OBJECT_MATVIEW": "materialized view", "OBJECT_FUNCTION": "function",
         "OBJECT_PROCEDURE": "procedure", "OBJECT_ROUTINE": "routine", "OBJECT_AGGREGATE": "aggregate",
         "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "domain", "OBJECT_SEQUENCE": "sequence",
         "OBJECT_EXTENSION": "extension"}
_KEYWORD = {"OBJECT_VIEW": "VIEW", "OBJECT_MATVIEW": "MATERIALIZED VIEW", "OBJECT_FUNCTION": "FUNCTION",
            "OBJECT_PROCEDURE": "PROCEDURE", "OBJECT_ROUTINE": "ROUTINE", "OBJECT_AGGREGATE": "AGGREGATE",
            "OBJECT_TYPE": "TYPE", "OBJECT_DOMAIN": "DOMAIN", "OBJECT_SEQUENCE": "SEQUENCE",
            "OBJECT_EXTENSION": "EXTENSION"}
_FUNCTIONS = ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE", "OBJECT_AGGREGATE")


def _drops_trigger_first(ctx: Context) -> bool:
    """Did an earlier statement of this migration drop a trigger?

    A function dropped after a trigger is (almost always) the trigger's function, which no
    application query calls.
    """
    positions = ctx.indexed("drop_object.first_drops", _first_drops).get("trigger")
    return positions is not None and positions[0] < ctx.index


def _drops_default_first(ctx: Context) -> bool:
    """Did an earlier statement drop a column default, a column, a table or add an identity?

    A sequence dropped after that is the sequence of a serial column that was converted or removed.
    """
    positions = ctx.indexed("drop_object.first_drops", _first_drops).get("default")
    return positions is not None and positions[0] < ctx.index


def _first_drops(stmt) -> Iterator[str]:
    """"trigger" for a dropped trigger; "default" for a dropped column default, column or table, or an
    added identity (indexed once per file)."""
    if stmt.node_type == "AlterTableStmt":
        for item in stmt.node.get("cmds") or ():
            _, cmd = ast.unwrap(item)
            subtype = cmd.get("subtype")
            if subtype in ("AT_DropColumn", "AT_AddIdentity") or (subtype == "AT_ColumnDefault" and cmd.get("def") is None):
                yield "default"
                return
    elif stmt.node_type == "DropStmt":
        if stmt.node.get("removeType") == "OBJECT_TABLE":
            yield "default"
        elif stmt.node.get("removeType") == "OBJECT_TRIGGER":
            yield "trigger"


@lru_cache(maxsize=64)
def _repeatable_definitions(folder: str) -> str:
    """The SQL of Flyway's repeatable migrations (`R__*.sql`) in a folder, lower-cased."""
    texts = []
    try:
        for path in sorted(Path(folder).glob("R__*.sql")):
            texts.append(path.read_text(encoding="utf-8", errors="replace").lower())
    except OSError:
        return ""
    return "\n".join(texts)


def _recreated_by_repeatable(ctx: Context, name: str) -> bool:
    """Flyway runs the repeatable migrations after the versioned ones: one that creates the object again
    (`CREATE OR REPLACE VIEW name`) restores it in the same `flyway migrate`."""
    if ctx.file.framework != "flyway" or ctx.file.path is None:
        return False
    text = _repeatable_definitions(str(ctx.file.path.parent))
    if not text:
        return False
    base = re.escape(name.rpartition(".")[2].lower())
    return re.search(rf"create\s+(?:or\s+replace\s+)?(?:materialized\s+)?(?:view|function|procedure)\s+"
                     rf"(?:if\s+not\s+exists\s+)?(?:\w+\.)?\"?{base}\"?[\s(]", text) is not None


class DropObject(Rule):
    """Dropping a view, function, procedure, sequence or extension in use, or a type with CASCADE.

    `DROP TABLE`, `DROP COLUMN` and `DROP SCHEMA` destroy data and are reported
    by `drop-without-backup`; indexes by `non-concurrent-index`. Triggers,
    policies and rules are not reported: application queries do not name them.
    A type or domain is reported only with `CASCADE` (which drops the columns
    of that type): without it the drop only succeeds once no column uses the
    type, and the column drops before it are what broke the running code
    (Prisma's `-- DropEnum`). Not reported either: objects created earlier in
    the same migration (including `DROP … IF EXISTS` of them); a drop followed
    by a statement of the same migration that creates the object again
    (`DROP VIEW v; CREATE VIEW v …`), or, with Flyway, by a repeatable
    migration (`R__*.sql`) of the folder that creates it again; a function
    dropped after a trigger of the same migration (taken to be the trigger's
    function); a sequence dropped after a column default, column or table (the
    serial's sequence). All the objects of one statement are one finding.

    ## Why is this bad?
    The application code deployed now keeps running during the deploy and
    until every instance is replaced. Its queries that read the view, call the
    function (Supabase `rpc()`), cast to the type or call `nextval` fail with
    *does not exist* from the moment the drop commits. `CASCADE` also drops
    whatever depends on the object, which can be far more than intended.

    ## Example
    ```sql
    DROP VIEW "ActiveSubscription";
    ```

    ## Use instead
    ```sql
    -- first deploy the code that no longer reads "ActiveSubscription", then, in a later migration:
    -- migration-lint: ignore drop-object -- no deployed code reads "ActiveSubscription" since release 42
    DROP VIEW "ActiveSubscription";
    ```

    ## When it's fine
    When the code that used the object was removed by an earlier deploy, or
    nothing outside the database ever named it. Say so in the suppression.

    ## References
    - PostgreSQL: [DROP VIEW](https://www.postgresql.org/docs/current/sql-dropview.html), [DROP FUNCTION](https://www.postgresql.org/docs/current/sql-dropfunction.html), [DROP TYPE](https://www.postgresql.org/docs/current/sql-droptype.html)
    - PostgreSQL: [Dependency Tracking](https://www.postgresql.org/docs/current/ddl-depend.html)
    """

    id = "drop-object"
    summary = "Dropping a view, function, sequence, extension (or a type with CASCADE) breaks code using it"
    severity = Severity.WARNING
    checklist = ("deploy-first",)
    statements = ("DropStmt",)
    risk = Risk.MEDIUM
    lock = "ACCESS EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        remove = node.get("removeType", "")
        if remove not in _WHAT:
            return
        kind = object_kind(remove) or ""
        cascade = node.get("behavior") == "DROP_CASCADE"
        if remove in ("OBJECT_TYPE", "OBJECT_DOMAIN") and not cascade:
            return  # without CASCADE it only succeeds when no column uses the type
        dropped: list[tuple[Any, str]] = []
        for obj in node.get("objects") or ():
            name = object_name(obj)
            if ctx.created_before(kind, name) or ctx.objects.defined_after(kind, name, ctx.index) is not None:
                continue
            if remove in _FUNCTIONS and _drops_trigger_first(ctx):
                continue
            if remove == "OBJECT_SEQUENCE" and _drops_default_first(ctx):
                continue
            if remove in ("OBJECT_VIEW", "OBJECT_MATVIEW") + _FUNCTIONS and _recreated_by_repeatable(ctx, name):
                continue
            dropped.append((obj, name))
        if not dropped:
            return
        what, keyword = _WHAT[remove], _KEYWORD[remove]
        quote = ast.quote_ident if remove == "OBJECT_EXTENSION" else ast.quote_qualified
        names = [quote(name) for _, name in dropped]
        listed = ", ".join(names[:3]) + (f" (and {len(names) - 3} more)" if len(names) > 3 else "")
        plural = "s" if len(names) > 1 else ""
        if remove == "OBJECT_EXTENSION":
            message = (f"DROP EXTENSION {listed} removes the extension's functions and types: application queries "
                       "that use them fail from the moment this commits")
        elif remove in ("OBJECT_TYPE", "OBJECT_DOMAIN"):
            message = (f"DROP {keyword} {listed} CASCADE also drops every column of that {what}, and the running "
                       "code's queries on those columns fail from the moment this commits")
        else:
            message = (f"DROP {keyword} {listed} breaks the application code running now if it uses the {what}{plural}: "
                       f"those queries fail with \"does not exist\" from the moment this commits")
        if cascade and remove not in ("OBJECT_TYPE", "OBJECT_DOMAIN"):
            message += "; CASCADE also drops every object that depends on it"
        exists = " IF EXISTS" if node.get("missing_ok") else ""
        help_text = (f"Contract only after the code stopped using it: deploy the code that no longer uses "
                     f"{', '.join(names[:3])}{' …' if len(names) > 3 else ''} first, then `DROP {keyword}{exists} "
                     f"{', '.join(names[:3])}{', …' if len(names) > 3 else ''};` in a later migration, with a suppression "
                     "that says so (`-- migration-lint: ignore drop-object -- <release that stopped using it>`).")
        if cascade:
            help_text += " Drop the dependent objects explicitly instead of CASCADE, so the migration says what goes away."
        anchor = next((obj for obj, _ in dropped if ast.location(obj) is not None), ctx.statement)
        yield ctx.finding(anchor, message, help=help_text)
