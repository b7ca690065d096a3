"""The store: SQLAlchemy Core tables, migrations and the queries services use."""
