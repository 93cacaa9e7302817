"""PostgreSQL: connection (``pool``), the embedded default (``embedded``) and migrations (``migrate``)."""

from revaer.db.embedded import EmbeddedPostgres, EmbeddedPostgresError
from revaer.db.migrate import MigrationError, migrate
from revaer.db.pool import Database, connect, create_pool, data_dir, open_database

__all__ = [
    "Database",
    "EmbeddedPostgres",
    "EmbeddedPostgresError",
    "MigrationError",
    "connect",
    "create_pool",
    "data_dir",
    "migrate",
    "open_database",
]
