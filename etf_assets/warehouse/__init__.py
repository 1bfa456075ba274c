"""The warehouse: the table contract (schema.py), DDL and migrations (migrate.py), the
transactional partition writes and their log (write.py), and exports of tables and queries to
files (export.py). Below the assets, above parsing and metrics; no Dagster asset code here."""
