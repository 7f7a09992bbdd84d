"""Stage 3, facts: what each statement does, computed once per file (schema model, locks, transactions)."""
