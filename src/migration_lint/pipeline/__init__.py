"""The pipeline: runs the stages over a set of files (history replay, parallel workers, cache)."""
