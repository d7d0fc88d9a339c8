"""The cost reserved by each paid submission (for the spending caps), and the twin a job waits for.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_remote_submissions") as batch:
        batch.add_column(sa.Column("cost_usd", sa.Float(), nullable=True))
    # Submissions made before the caps existed count at the cost their job recorded, so this
    # month's spend is right from the first day of a cap.
    op.execute(
        "UPDATE video_remote_submissions SET cost_usd = (SELECT j.estimated_cost_usd FROM video_jobs j "
        "WHERE j.id = video_remote_submissions.job_id AND j.remote_id = video_remote_submissions.remote_id)"
    )
    op.create_index("ix_video_remote_submissions_intent_at", "video_remote_submissions", ["intent_at"])
    with op.batch_alter_table("video_jobs") as batch:
        batch.add_column(sa.Column("twin_job_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("video_jobs") as batch:
        batch.drop_column("twin_job_id")
    op.drop_index("ix_video_remote_submissions_intent_at", table_name="video_remote_submissions")
    with op.batch_alter_table("video_remote_submissions") as batch:
        batch.drop_column("cost_usd")
