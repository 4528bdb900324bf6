"""The App's database: the issue mirror and the job queue (SQLAlchemy; SQLite or PostgreSQL)."""
