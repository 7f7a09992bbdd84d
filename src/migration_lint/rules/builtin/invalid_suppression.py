from __future__ import annotations

from migration_lint.model import Severity
from migration_lint.rules.base import Rule


class InvalidSuppression(Rule):
    """A `migration-lint: ignore` comment that does not do its job.

    Suppressions are written `-- migration-lint: ignore <rule-id>[, <rule-id>] -- <reason>`
    on the line before a statement (or trailing it), or
    `-- migration-lint: ignore-file <rule-id> -- <reason>` in the comments
    before the first statement.

    ## Why is this bad?
    A suppression is a reviewed decision, so it must say why the statement is
    safe. One without a reason, one naming a rule that does not exist (a typo
    silences nothing) and one that no longer suppresses anything (the statement
    changed) all mislead the next reader.

    ## Example
    ```sql
    -- migration-lint: ignore non-concurrent-index
    CREATE INDEX "Post_authorId_idx" ON "Post" ("authorId");
    ```

    ## Use instead
    ```sql
    -- migration-lint: ignore non-concurrent-index -- Post has 200 rows, the build takes milliseconds
    CREATE INDEX "Post_authorId_idx" ON "Post" ("authorId");
    ```

    ## When it's fine
    Never: fix or delete the comment.

    ## References
    - migration-lint README, section "Suppressing a finding"
    """

    id = "invalid-suppression"
    summary = "A suppression comment without a reason, with an unknown rule id, or that suppresses nothing"
    severity = Severity.WARNING
    made_by_pipeline = True
