from __future__ import annotations

from migration_lint.model import Risk, Severity
from migration_lint.rules.base import Rule


class ParseError(Rule):
    """A migration that cannot be read, decoded or parsed.

    The finding stands at the line where reading stopped; the other files are
    still linted.

    ## Why is this bad?
    A file that PostgreSQL's own parser rejects will fail at deploy time, and
    nothing in it can be checked: its locks, rewrites and data loss are
    unknown. Templated SQL (Flyway `${placeholders}`, Go `{{ }}` templates,
    psql `:variables` and meta-commands such as `\\connect`) is reported with a
    hint, because it only becomes SQL when the template is rendered.

    ## Example
    ```sql
    CREATE TABLE "User" (id int,);
    ```

    ## Use instead
    ```sql
    CREATE TABLE "User" (id int);
    ```

    ## When it's fine
    Never for a migration that PostgreSQL will run. For templated files,
    configure `placeholders` so that values are substituted before parsing.

    ## References
    - PostgreSQL: [SQL Syntax](https://www.postgresql.org/docs/current/sql-syntax.html)
    """

    id = "parse-error"
    summary = "The file cannot be read, decoded as UTF-8, or parsed as PostgreSQL SQL"
    severity = Severity.ERROR
    checklist = ("parse",)
    made_by_pipeline = True
    risk = Risk.HIGH
