"""Remote generation: the paid-submission ledger, circuit breakers, remote fields on jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 11:44:23.838699
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_circuit_breakers",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("base_url", sa.String(length=512), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "video_remote_submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("base_url", sa.String(length=512), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("intent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remote_id", sa.String(length=128), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["video_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("video_remote_submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_video_remote_submissions_job_id"), ["job_id"], unique=False)

    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("remote_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("remote_model", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("remote_size", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("remote_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("poll_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("poll_deadline_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("estimated_cost_usd", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("fallback_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.drop_column("fallback_reason")
        batch_op.drop_column("estimated_cost_usd")
        batch_op.drop_column("poll_deadline_at")
        batch_op.drop_column("poll_count")
        batch_op.drop_column("remote_seconds")
        batch_op.drop_column("remote_size")
        batch_op.drop_column("remote_model")
        batch_op.drop_column("remote_status")
        batch_op.drop_column("remote_id")

    with op.batch_alter_table("video_remote_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_remote_submissions_job_id"))

    op.drop_table("video_remote_submissions")
    op.drop_table("provider_circuit_breakers")
