"""The durable job queue: a `jobs` table with leases, on SQLite or PostgreSQL."""
