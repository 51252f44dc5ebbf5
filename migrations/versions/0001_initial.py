"""Initial schema: base entries, path errors, conflicts, metadata.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("rel_path", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False, server_default="0"),
        sa.Column("mtime_ns", sa.Integer, nullable=False, server_default="0"),
        sa.Column("inode", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sha256", sa.Text, nullable=True),
        sa.Column("remote_id", sa.Text, nullable=False, server_default=""),
        sa.Column("remote_created", sa.Integer, nullable=False, server_default="0"),
        sa.Column("remote_modified", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_entries_inode", "entries", ["inode"])
    op.create_table(
        "path_errors",
        sa.Column("rel_path", sa.Text, primary_key=True),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("first_failed", sa.Float, nullable=False),
        sa.Column("retry_at", sa.Float, nullable=False),
    )
    op.create_table(
        "conflicts",
        sa.Column("rel_path", sa.Text, primary_key=True),
        sa.Column("original", sa.Text, nullable=False),
        sa.Column("loser", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("conflicts")
    op.drop_table("path_errors")
    op.drop_index("ix_entries_inode", "entries")
    op.drop_table("entries")
    op.drop_table("meta")
