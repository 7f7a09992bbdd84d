"""Stage 2, syntax: text → statements, comments and directives (pglast), and helpers for the parse tree."""
