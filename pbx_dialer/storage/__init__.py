"""Storage: every SQL statement of the dialer lives in this package, one module per entity,
so another database (a shared PostgreSQL) can take SQLite's place behind the same calls."""
