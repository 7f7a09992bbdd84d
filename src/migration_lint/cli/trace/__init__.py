"""`migration-lint trace`: run migrations on a real PostgreSQL and compare with the static analysis."""
