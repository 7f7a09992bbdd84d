from __future__ import annotations

from migration_lint.model import Severity
from migration_lint.rules.base import Rule


class UnsupportedProvider(Rule):
    """A Prisma migrations folder for a database other than PostgreSQL.

    The datasource in `schema.prisma` next to the folder (or the folder's
    `migration_lock.toml`) declares `provider = "mysql"`, `"sqlite"`,
    `"sqlserver"`, `"mongodb"` or `"cockroachdb"`. The folder is not linted:
    it gets this one finding, at the provider's line, instead of a parse error
    per migration.

    ## Why is this bad?
    migration-lint knows PostgreSQL's parser and lock model only. The SQL of
    another database does not parse as PostgreSQL (backtick identifiers,
    `ENGINE=InnoDB`, `AUTOINCREMENT`), and where it does, its locks and
    rewrites are those of another server: every verdict would be wrong.

    ## Example
    ```sql
    -- prisma/schema.prisma: datasource db { provider = "mysql" }
    CREATE TABLE `User` (`id` INTEGER NOT NULL AUTO_INCREMENT, PRIMARY KEY (`id`)) ENGINE=InnoDB;
    ```

    ## Use instead
    ```sql
    -- prisma/schema.prisma: datasource db { provider = "postgresql" }
    CREATE TABLE "User" ("id" SERIAL NOT NULL, CONSTRAINT "User_pkey" PRIMARY KEY ("id"));
    ```

    ## When it's fine
    When the repository also has PostgreSQL migrations: leave the other
    folder out (`exclude` in the configuration, or the paths you pass) or
    ignore this rule.

    ## References
    - Prisma: [Data sources](https://www.prisma.io/docs/orm/prisma-schema/overview/data-sources)
    """

    id = "unsupported-provider"
    summary = "A Prisma migrations folder for another database than PostgreSQL: it is not linted"
    severity = Severity.ERROR
    made_by_pipeline = True
    example_fires = False
