"""The lock impact sentence every report shows."""

from __future__ import annotations

import pytest

from migration_lint.pipeline.engine import lint_text


@pytest.mark.parametrize(("sql", "sentence"), [
    ('ALTER TABLE "Order" ADD CONSTRAINT "Order_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id");',
     'blocks writes to "Order" and "User" while it validates'),
    ('CREATE INDEX "Order_userId_idx" ON "Order"("userId");', 'blocks writes to "Order" while it builds the index'),
    ('ALTER TABLE "Order" ALTER COLUMN "total" TYPE numeric;', 'blocks reads and writes of "Order" while it rewrites the table'),
    ('ALTER TABLE "Order" ALTER COLUMN "total" SET NOT NULL;', 'blocks reads and writes of "Order" while it validates'),
    ('ALTER TABLE "Order" ADD COLUMN "note" text;',
     'blocks reads and writes of "Order" briefly (a catalog change), after waiting for running queries on it'),
    ('CREATE INDEX CONCURRENTLY i ON orders (x);', 'blocks neither reads nor writes (only other schema changes)'),
    ("UPDATE orders SET status = 'x';", 'blocks writes to "orders" until every row is changed and committed'),
    ("CREATE TABLE t (id int);", "takes no lock on an existing table"),
    ("DO $$ BEGIN EXECUTE format('SELECT %s', 1); END $$;", "locks unknown: this statement is not in the lock model"),
])
def test_impact_sentence(sql, sentence):
    from migration_lint.report.words import impact

    [item] = lint_text(sql).statements
    assert impact(item) == sentence
