"""Alembic environment: runs the migrations on the connection the migrations runner passes in.

`warehouse.migrations_runner.migrate` owns the transaction and the lock that keeps concurrent
upgrades apart, so this script only configures Alembic on that connection. Generating
a new revision works the same way: build `warehouse.migrations_runner.alembic_config(connection)`
and call `alembic.command.revision` with it.
"""

from alembic import context

from warehouse.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run the warehouse migrations through warehouse.migrations_runner.migrate(url), "
        "which supplies the connection and the lock"
    )

context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
