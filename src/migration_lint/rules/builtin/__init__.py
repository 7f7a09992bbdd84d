"""The built-in rules: one module per rule, one rule class per module (found by the registry)."""
