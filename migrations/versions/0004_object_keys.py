"""Object keys for the video, poster and captions: URLs are minted from them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_jobs") as batch:
        batch.add_column(sa.Column("video_key", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("poster_key", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("captions_key", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("video_jobs") as batch:
        batch.drop_column("captions_key")
        batch.drop_column("poster_key")
        batch.drop_column("video_key")
