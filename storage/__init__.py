"""Persistence for uproar: typed SQLAlchemy models, sessions, migrations and history queries."""
