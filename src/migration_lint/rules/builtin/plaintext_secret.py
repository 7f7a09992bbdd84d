from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.facts.secrets import detect
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule


class PlaintextSecret(Rule):
    """A password, private key or API token written in plain text in a migration.

    Reported: `CREATE/ALTER ROLE|USER … PASSWORD '…'` (a pre-hashed
    `SCRAM-SHA-256$…` or `md5…` value too: it is still a credential, an md5
    hash even logs in as is), `PASSWORD` options of user mappings and
    passwords in subscription connection strings; string constants of any
    statement in a well-known secret format (private keys, AWS access key ids,
    GitHub, Stripe, Slack and Google API keys, passwords in connection URLs);
    and values that an INSERT or UPDATE writes into a column named like a
    credential (`password`, `…_secret`, `…Token`, `apiKey`, …): any non-empty
    value of 8 or more characters for password columns, a high-entropy value of
    16 or more characters for the others. `PASSWORD NULL`, empty strings and
    placeholders (`${…}`, `{{…}}`, `<…>`, `changeme`) are not reported.
    Findings never repeat the secret: they show its first characters and
    `****`, and the statement's SQL in the reports is masked the same way.

    ## Why is this bad?
    A migration lives in the repository, its history, every clone, CI logs and
    the migration tool's history table. A secret written in it is readable by
    everyone who can read any of those, forever: removing it later does not
    remove it from the history. It has to be rotated.

    ## Example
    ```sql
    CREATE ROLE reporting LOGIN PASSWORD 'Tr0ub4dor&3-horse-battery';
    ```

    ## Use instead
    ```sql
    CREATE ROLE reporting LOGIN;
    -- the password is set at deploy time from the secret store, e.g. psql -v pw="$REPORTING_PASSWORD":
    -- ALTER ROLE reporting PASSWORD :'pw';
    ```

    ## When it's fine
    Never for a real credential. For a well-known test fixture value in a
    development-only migration, suppress it with that reason.

    ## References
    - PostgreSQL: [CREATE ROLE, PASSWORD](https://www.postgresql.org/docs/current/sql-createrole.html)
    - PostgreSQL: [Password Authentication](https://www.postgresql.org/docs/current/auth-password.html)
    - OWASP: [Secrets Management Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html)
    """

    id = "plaintext-secret"
    summary = "A password, private key or API token in plain text in a migration (masked in the report)"
    severity = Severity.ERROR
    migration = True

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        for stmt in ctx.statements:
            found = detect(stmt)
            for anchor, message, _secret in found:
                yield ctx.finding(
                    anchor if anchor is not None else stmt,
                    message + ": it is readable by everyone with access to the repository, its history and the "
                              "migration table, for good",
                    help=self._help(stmt),
                    at=stmt,
                )

    @staticmethod
    def _help(stmt: Statement) -> str:
        if stmt.node_type in ("CreateRoleStmt", "AlterRoleStmt"):
            return ("Rotate it (it stays in the git history), create the role without a password here, and set the "
                    "password at deploy time from your secret store, outside the repository: e.g. run "
                    "`ALTER ROLE <role> PASSWORD :'pw';` with `psql -v pw=\"$SECRET\"`, or `\\password <role>`.")
        return ("Rotate it (it stays in the git history), remove it from the migration, and load it at deploy time "
                "from your secret store (an environment variable read by a seed script, or a psql variable "
                "`:'secret'`), or let the application create it.")


