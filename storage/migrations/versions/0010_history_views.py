"""history: each post's newest score kept on the post by triggers, a daily rollup of posts
per watch and source kept by triggers, an index for history queries, and the stable SQL
views analysts' BI tools read (v_mentions, v_complaints,
v_sentiment_daily), the same columns and rows on SQLite and PostgreSQL

Revision ID: 0010
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.history_schema import backfill, create_history_objects, drop_history_objects

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("newest_score_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("negativity", sa.Float(), nullable=True))
        batch.create_index(
            "ix_posts_history", ["published_at", "source", "negativity", "watch"], unique=False
        )
    op.create_table(
        "sentiment_daily",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("watch", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("negatives", sa.Integer(), nullable=False),
        sa.Column("negativity_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "watch", "source", name=op.f("pk_sentiment_daily")),
    )
    backfill(op.get_bind())
    create_history_objects(op.get_bind())


def downgrade() -> None:
    drop_history_objects(op.get_bind())
    op.drop_table("sentiment_daily")
    with op.batch_alter_table("posts") as batch:
        batch.drop_index("ix_posts_history")
        batch.drop_column("negativity")
        batch.drop_column("newest_score_id")
