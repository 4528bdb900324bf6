"""Alembic migrations of the App's database (run by `app.db.engine.migrate`, in code)."""
