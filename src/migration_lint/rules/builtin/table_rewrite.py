from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast

_ALTER = {
    "AT_SetLogged": "SET LOGGED",
    "AT_SetUnLogged": "SET UNLOGGED",
    "AT_SetTableSpace": "SET TABLESPACE",
    "AT_SetAccessMethod": "SET ACCESS METHOD",
}
_NOUN = {"TABLE": "table", "MATERIALIZED VIEW": "view", "INDEX": "index"}
_OBJECTS = {"OBJECT_TABLE": "TABLE", "OBJECT_MATVIEW": "MATERIALIZED VIEW", "OBJECT_INDEX": "INDEX"}


class TableRewrite(Rule):
    """`VACUUM FULL`, `CLUSTER`, or `ALTER TABLE … SET LOGGED / UNLOGGED / TABLESPACE / ACCESS METHOD`.

    Each of them writes a new copy of the table (or index) and its indexes.
    Tables created earlier in the same migration are not reported.

    ## Why is this bad?
    The copy is made while the statement holds an ACCESS EXCLUSIVE lock: every
    read and write of the table waits until the whole table has been copied,
    minutes or hours on a large table, and the copy needs as much free disk
    space again. `VACUUM FULL` and `CLUSTER` without a table name do this to
    every table of the database, one after the other.

    ## Example
    ```sql
    VACUUM FULL "Event";
    ```

    ## Use instead
    ```sql
    VACUUM "Event";
    ```

    ## When it's fine
    On a small table, or in a maintenance window. To reclaim space or reorder
    a large table online, use [pg_repack](https://reorg.github.io/pg_repack/)
    or [pg_squeeze](https://github.com/cybertec-postgresql/pg_squeeze), which
    only take a brief ACCESS EXCLUSIVE lock at the end; to move a table to
    another tablespace, `pg_repack --tablespace`. A plain `VACUUM` makes the
    space reusable without a rewrite and without blocking reads or writes.

    ## References
    - PostgreSQL: [VACUUM](https://www.postgresql.org/docs/current/sql-vacuum.html) ("FULL … requires an ACCESS EXCLUSIVE lock on each table while it is being processed")
    - PostgreSQL: [CLUSTER](https://www.postgresql.org/docs/current/sql-cluster.html)
    - PostgreSQL: [ALTER TABLE](https://www.postgresql.org/docs/current/sql-altertable.html) (SET TABLESPACE, SET LOGGED / UNLOGGED, SET ACCESS METHOD)
    """

    id = "table-rewrite"
    summary = "VACUUM FULL, CLUSTER, SET (UN)LOGGED/TABLESPACE/ACCESS METHOD copy the table under ACCESS EXCLUSIVE"
    severity = Severity.ERROR
    statements = ("VacuumStmt", "ClusterStmt", "AlterTableStmt", "AlterTableMoveAllStmt")
    lock = "ACCESS EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if stmt.node_type == "VacuumStmt":
            yield from self._vacuum(node, ctx)
        elif stmt.node_type == "ClusterStmt":
            yield from self._cluster(node, ctx)
        elif stmt.node_type == "AlterTableStmt":
            yield from self._alter(node, ctx)
        else:
            yield from self._move_all(node, ctx)

    def _vacuum(self, node: dict, ctx: Context) -> Iterable[Finding]:
        options = ast.def_elems(node.get("options"))
        if "full" not in options or not _true(options["full"]) or not node.get("is_vacuumcmd"):
            return
        rels = [ast.unwrap(r)[1].get("relation") for r in node.get("rels") or ()]
        rels = [r for r in rels if r]
        if not rels:
            yield ctx.finding(
                ctx.statement,
                "VACUUM FULL without a table rewrites every table of the database, each under an ACCESS EXCLUSIVE "
                "lock: reads and writes of each table wait while it is copied",
                help="Name the tables that need it, or use a plain `VACUUM;` (no rewrite, no blocking), or pg_repack "
                "(`pg_repack --table=<table>`) to reclaim space online.",
            )
            return
        for rel in rels:
            table = ast.relation_name(rel)
            if ctx.is_new_table(table):
                continue
            qt = ast.quote_qualified(table)
            yield ctx.finding(
                rel,
                f"VACUUM FULL rewrites {qt} under an ACCESS EXCLUSIVE lock: reads and writes of {qt} wait until the "
                "whole table and its indexes have been copied",
                help=(f"`VACUUM {qt};` makes the dead space reusable without a rewrite and without blocking reads or "
                      f"writes; to give the space back to the operating system online, use pg_repack "
                      f"(`pg_repack --table={_shell(table)}`) or pg_squeeze."),
            )

    def _cluster(self, node: dict, ctx: Context) -> Iterable[Finding]:
        rel = node.get("relation")
        if not rel:
            yield ctx.finding(
                ctx.statement,
                "CLUSTER without a table rewrites every table that was clustered before, each under an ACCESS "
                "EXCLUSIVE lock: reads and writes of each table wait while it is copied",
                help="Use pg_repack (`pg_repack --order-by=<columns> --table=<table>`) to reorder a table online.",
            )
            return
        table = ast.relation_name(rel)
        if ctx.is_new_table(table):
            return
        qt = ast.quote_qualified(table)
        index = node.get("indexname")
        yield ctx.finding(
            rel,
            f"CLUSTER rewrites {qt} in index order under an ACCESS EXCLUSIVE lock: reads and writes of {qt} wait "
            "until the whole table and its indexes have been copied",
            help=(f"Reorder it online with pg_repack (`pg_repack --table={_shell(table)} --order-by=<the columns of "
                  f"{ast.quote_ident(index) if index else 'the index'}>`) or pg_squeeze."),
        )

    def _alter(self, node: dict, ctx: Context) -> Iterable[Finding]:
        objtype = node.get("objtype", "OBJECT_TABLE")
        if objtype not in _OBJECTS:
            return
        name = ast.relation_name(node.get("relation"))
        if objtype != "OBJECT_INDEX" and ctx.is_new_table(name):
            return
        if objtype == "OBJECT_INDEX":
            index = ctx.schema.index(name)
            if index is not None and ctx.is_new_table(index.table):
                return
        qn = ast.quote_qualified(name)
        kind = _OBJECTS[objtype]
        for command in ast.alter_commands(node):
            cmd = command.cmd
            what = _ALTER.get(command.subtype)
            if what is None:
                continue
            if objtype == "OBJECT_INDEX" and what != "SET TABLESPACE":
                continue
            if what == "SET TABLESPACE":
                target = ast.quote_ident(cmd.get("name", "?"))
                moveidx = " --moveidx" if kind == "TABLE" else ""
                help_text = (f"Move it online with pg_repack (`pg_repack --table={_shell(name)} "
                             f"--tablespace={cmd.get('name', '?')}{moveidx}`), or create new objects in {target} from "
                             "now on (`default_tablespace`) and leave the old ones where they are.")
                if kind == "MATERIALIZED VIEW":
                    help_text = (f"Create a new materialized view with `TABLESPACE {target}`, then swap the names in "
                                 "one short transaction.")
                if kind == "INDEX":
                    help_text = (f"Build a copy in the new tablespace with `CREATE INDEX CONCURRENTLY … TABLESPACE "
                                 f"{target}`, then `DROP INDEX CONCURRENTLY {qn};`, or use pg_repack --only-indexes.")
            elif what == "SET ACCESS METHOD":
                help_text = ("Create a new table with the access method, copy the rows in batches (a trigger copying "
                             "new writes), then swap the names in one short transaction.")
            else:
                help_text = ("There is no online way to change it on a large table: create a new table "
                             f"({'UNLOGGED' if what == 'SET UNLOGGED' else 'logged'}), copy the rows in batches (a "
                             "trigger copying new writes), then swap the names in one short transaction; or do it in "
                             "a maintenance window.")
            yield ctx.finding(
                node.get("relation"),
                f"ALTER {kind} … {what} rewrites {qn} under an ACCESS EXCLUSIVE lock: reads and writes of "
                f"{'the table' if kind == 'INDEX' else qn} wait until the whole {_NOUN[kind]}"
                " has been copied",
                help=help_text,
            )

    def _move_all(self, node: dict, ctx: Context) -> Iterable[Finding]:
        source = node.get("orig_tablespacename", "?")
        target = node.get("new_tablespacename", "?")
        kind = _OBJECTS.get(node.get("objtype", "OBJECT_TABLE"), "TABLE")
        yield ctx.finding(
            ctx.statement,
            f"ALTER {kind} ALL IN TABLESPACE {ast.quote_ident(source)} … SET TABLESPACE {ast.quote_ident(target)} "
            "rewrites every such relation, each under an ACCESS EXCLUSIVE lock held until the end of the statement",
            help=("Move the large tables online with pg_repack (`pg_repack --table=<table> --tablespace="
                  f"{target} --moveidx`), one at a time."),
        )


def _true(arg: object) -> bool:
    if arg is None:
        return True
    value = ast.const_value(arg)
    if value is None:
        kind, inner = ast.unwrap(arg)
        value = inner.get("sval") if isinstance(inner, dict) else None
        if value is None and isinstance(inner, dict) and "ival" in inner:
            value = inner.get("ival", 0)
    if isinstance(value, str):
        return value.lower() not in ("false", "off", "0", "no")
    return bool(value) if value is not None else True


def _shell(table: str) -> str:
    """A table name as pg_repack's --table expects it (quoted identifiers need shell quoting)."""
    quoted = ast.quote_qualified(table)
    return f"'{quoted}'" if '"' in quoted else quoted
