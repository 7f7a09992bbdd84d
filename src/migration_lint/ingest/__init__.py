"""Stage 1, ingest: paths → migration files → decoded text (discovery, layouts, git changes)."""
