"""One home for the safe alternatives the rules hand out: SQL recipes written with the user's own
table and column names, and the framework-specific advice on how to apply them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from migration_lint.config import prisma_legacy
from migration_lint.facts.columns import primary_key_column
from migration_lint.facts.transactions import prisma_version_of
from migration_lint.syntax import ast

if TYPE_CHECKING:
    from migration_lint.facts.context import Context
    from migration_lint.facts.schema import Schema


# -- SQL recipes ---------------------------------------------------------------------------------
#: rows per batch in every backfill recipe: small enough that each batch's row locks and WAL are short
BATCH_ROWS = 1000


def batch_key(schema: Schema, table: str) -> str:
    """The column a batch picks rows by, quoted: the table's single-column primary key, else an `id`
    column, else `ctid` (every table has one; fine for a batch that selects by a condition)."""
    key = primary_key_column(schema, table)
    if key is None:
        model = schema.table(table)
        key = "id" if model is None or "id" in model.columns else None
    return ast.quote_ident(key) if key else "ctid"


def batched(head: str, table_sql: str, key_sql: str, condition: str) -> str:
    """One batch of `head` (``UPDATE t SET …`` / ``DELETE FROM t``): the rows matching `condition`, BATCH_ROWS
    at a time by key. Repeated until it changes no row, it does the whole job in short transactions."""
    return f"{head} WHERE {key_sql} IN (SELECT {key_sql} FROM {table_sql} WHERE {condition} LIMIT {BATCH_ROWS})"


def batched_update(schema: Schema, table: str, assignment: str, pending: str) -> str:
    """An UPDATE that backfills one batch of the rows still `pending`: repeat it until it updates no row."""
    qt = ast.quote_qualified(table)
    return batched(f"UPDATE {qt} SET {assignment}", qt, batch_key(schema, table), pending) + ";"


def keyset(key_sql: str) -> str:
    """The part of a query that walks a table in key order, one batch after :last_key."""
    return f"{key_sql} > :last_key ORDER BY {key_sql} LIMIT {BATCH_ROWS}"


_FK_ACTIONS = {"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def references_sql(con: dict) -> str:
    """An inline REFERENCES constraint as SQL: ``REFERENCES "User"(id) ON DELETE CASCADE``."""
    text = f"REFERENCES {ast.quote_qualified(ast.relation_name(con.get('pktable')))}"
    pk = ast.strings(con.get("pk_attrs"))
    if pk:
        text += "(" + ", ".join(ast.quote_ident(c) for c in pk) + ")"
    if con.get("fk_matchtype") == "f":
        text += " MATCH FULL"
    if con.get("fk_del_action", "a") in _FK_ACTIONS:
        text += " ON DELETE " + _FK_ACTIONS[con["fk_del_action"]]
    if con.get("fk_upd_action", "a") in _FK_ACTIONS:
        text += " ON UPDATE " + _FK_ACTIONS[con["fk_upd_action"]]
    return text


# -- how to apply them with the migration tool ------------------------------------------------------
def outside_transaction_advice(ctx: Context) -> str:
    """How to get a statement out of the transaction it would run in."""
    framework = ctx.file.framework
    transaction = ctx.transaction
    if ctx.statement.parent is not None:
        return ("Run it as a statement of the migration itself, not from a DO block (`IF NOT EXISTS` forms such as "
                "`CREATE INDEX CONCURRENTLY IF NOT EXISTS` replace most DO guards), outside any transaction block.")
    if transaction.explicit:
        return "Move it after the COMMIT (outside BEGIN … COMMIT)."
    if framework == "prisma":
        if prisma_legacy(prisma_version_of(ctx.file, ctx.config)):
            return ("Put it alone in a migration of its own (`prisma migrate dev --create-only`, then edit the SQL so "
                    "that migration.sql holds just this statement), or upgrade to Prisma 7.4 or later, which sends "
                    "statements one at a time (set `prisma_version` to match).")
        return ("Put it alone in a migration of its own (`prisma migrate dev --create-only`, then edit the SQL so "
                "that migration.sql holds just this statement).")
    if framework == "drizzle":
        return ("Drizzle runs migrations inside a transaction, where this cannot work: run it outside drizzle-kit "
                "(a separate script or a manual step in the deploy).")
    if framework == "golang-migrate":
        return "Put it alone in a migration file of its own: golang-migrate runs a single statement without a transaction."
    if framework == "dbmate":
        return "Put it in a migration of its own that starts with `-- migrate:up transaction:false`."
    if framework == "diesel":
        return "Put it in a migration of its own with a `metadata.toml` that says `run_in_transaction = false`."
    if framework == "flyway":
        return "Put it in a migration of its own: Flyway runs a script with such a statement outside a transaction."
    if framework == "supabase":
        return "Put it alone in a migration file of its own."
    return "Run it outside any transaction."


def prisma_schema_hint(ctx: Context, what: str) -> str:
    """For Prisma folders: the fix belongs in schema.prisma and a new generated migration."""
    if ctx.file.framework != "prisma":
        return ""
    return f" With Prisma, {what} in schema.prisma and generate a new migration (`prisma migrate dev`)."


def prisma_edit_hint(ctx: Context) -> str:
    """For Prisma folders: an SQL-only fix is made by editing a --create-only migration."""
    if ctx.file.framework != "prisma":
        return ""
    return (" With Prisma, create the migration with `prisma migrate dev --create-only` and edit its SQL "
            "before applying it.")
