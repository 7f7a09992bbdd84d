"""migration-lint: a linter and pull-request reviewer for PostgreSQL migrations."""

__version__ = "0.1.0"
