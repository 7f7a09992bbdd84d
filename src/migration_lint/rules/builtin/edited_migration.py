from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, MigrationFile, Risk, Severity
from migration_lint.rules.base import Rule

#: the message and the fix for each kind of change to a migration that exists on the base branch
CHANGES = {
    "modified": (
        "this migration exists on the base branch and was edited: databases that already applied it will never run the edit",
        "Revert the edit and put the change in a new migration. Migration tools record a migration as applied by its "
        "version or name, so the edited text never runs where the old one ran, and the schemas drift apart "
        "(Flyway's and Prisma's checksum checks fail instead).",
    ),
    "renamed": (
        "this migration exists on the base branch under another name: renaming it makes it look like a new migration",
        "Restore the old file name and add a new migration for the change. Migration tools record applied migrations "
        "by version or name, so a renamed one runs a second time where the old one already ran (and usually fails: "
        "the table already exists), and the old one is reported missing.",
    ),
    "deleted": (
        "a migration that exists on the base branch was deleted: databases that applied it keep its changes, new ones never get them",
        "Restore the file. To undo what it did, add a new migration that reverses it; the history of applied "
        "migrations must stay as it is so that every database ends up with the same schema.",
    ),
}


def applies_to(file: MigrationFile) -> bool:
    """Flyway repeatable migrations (R__) are meant to be edited: they run again whenever they change."""
    return file.version != "~repeatable"


class EditedMigration(Rule):
    """A migration that is already on the base branch was edited, renamed or deleted.

    Only with `migration-lint review` (or `--diff BASE`): the migrations
    changed since BASE are compared with git, and a migration that existed on
    BASE must stay exactly as it is. Flyway repeatable migrations (`R__…`)
    are exempt: they are meant to be edited.

    ## Why is this bad?
    Migration tools record a migration as applied by its version or name.
    An edit to a migration that already ran somewhere never runs there: staging
    and production silently keep the old schema while a fresh database gets
    the new one (Flyway and Prisma detect the changed checksum and refuse or
    ask for a reset instead). A renamed migration looks new and runs a second
    time; a deleted one leaves databases that applied it with changes no other
    database has.

    ## Example
    ```sql
    -- prisma/migrations/20260101090000_create_user/migration.sql
    -- change: modified (the file is on the base branch and this pull request edits it)
    CREATE TABLE "User" (id bigint PRIMARY KEY, email text NOT NULL, name text);
    ```

    ## Use instead
    ```sql
    -- prisma/migrations/20260520090000_add_name_to_user/migration.sql
    -- change: added (a new migration carries the change)
    ALTER TABLE "User" ADD COLUMN name text;
    ```

    ## When it's fine
    When the migration has provably not been applied anywhere (it was merged
    but never deployed, and no developer database ran it), or the edit is only
    a comment and the tool does not compare checksums. Suppress the finding
    with a reason that says so.

    ## References
    - Prisma: [Do not edit or delete migrations that have been applied](https://www.prisma.io/docs/orm/prisma-migrate/understanding-prisma-migrate/migration-histories)
    - golang-migrate: [Migrations](https://github.com/golang-migrate/migrate/blob/master/MIGRATIONS.md)
    """

    id = "edited-migration"
    summary = "A migration that exists on the base branch was edited, renamed or deleted (review / --diff only)"
    severity = Severity.ERROR
    checklist = ("new-migration",)
    migration = True
    risk = Risk.HIGH

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        change = ctx.file.change
        if change not in CHANGES or not applies_to(ctx.file):
            return
        message, help_text = CHANGES[change]
        finding = ctx.file_finding(message, help=help_text)
        finding.risk = self.risk
        yield finding
