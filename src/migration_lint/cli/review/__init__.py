"""`migration-lint review`: a pull request's migrations, one comment kept up to date."""
