"""Stage 4, rules: the rule contract, the registry of built-in and plugin rules, and shared SQL recipes."""
