from __future__ import annotations

from migration_lint.model import Risk, Severity
from migration_lint.rules.base import Rule


class InternalError(Rule):
    """migration-lint failed while checking a statement or a file: that part is not checked.

    Reported whatever `--select` says (only an explicit `--ignore internal-error`
    hides it): a crash must never look like a clean migration. The message names
    the rule that failed and the error; the other rules' findings stand.

    ## Why is this bad?
    A check that crashed did not say whether the statement is safe. The
    statement may take a lock, rewrite a table or fail at deploy time without
    any other finding saying so.

    ## Example
    ```sql
    -- a statement on which a rule fails, e.g. a plugin rule with a bug:
    -- internal error in rule acme-ban-vacuum: KeyError: 'relation'
    VACUUM;
    ```

    ## Use instead
    ```sql
    VACUUM;
    ```

    ## When it's fine
    Never: review the statement by hand, and report the message (it names the
    rule and the error) to the rule's authors.

    ## References
    - migration-lint README, section "Writing a rule"
    """

    id = "internal-error"
    summary = "migration-lint failed while checking a statement or a file: it is not checked"
    severity = Severity.ERROR
    made_by_pipeline = True
    example_fires = False
    risk = Risk.MEDIUM
