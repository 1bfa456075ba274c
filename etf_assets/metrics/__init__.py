"""Pure metric definitions (SQL text and small pandas helpers); no Dagster, no HTTP."""
