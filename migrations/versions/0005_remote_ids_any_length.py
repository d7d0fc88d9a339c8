"""Remote ids of any length: gateways wrap the upstream id (LiteLLM's proxy: 234 characters).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 23:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("video_jobs", "video_remote_submissions")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "remote_id", type_=sa.Text(), existing_type=sa.String(length=128), existing_nullable=True
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "remote_id", type_=sa.String(length=128), existing_type=sa.Text(), existing_nullable=True
            )
