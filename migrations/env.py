"""Alembic environment: syncd passes its own open connection in `config.attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:  # the developer CLI (`alembic -c migrations/alembic.ini ...`)
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as dev_connection:
        context.configure(connection=dev_connection, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
