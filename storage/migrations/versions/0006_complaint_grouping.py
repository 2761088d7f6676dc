"""complaint grouping: complaint_posts, spikes, reach growth columns

Revision ID: 0006
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("added_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_posts_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_complaint_posts_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_posts")),
        sa.UniqueConstraint("post_id", name=op.f("uq_complaint_posts_post_id")),
    )
    op.create_index(
        op.f("ix_complaint_posts_complaint_id"), "complaint_posts", ["complaint_id"], unique=False
    )
    op.create_table(
        "spikes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watch", sa.String(length=100), nullable=False),
        sa.Column("hour_start", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("detected_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_spikes_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spikes")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_spikes_complaint_id")),
        sa.UniqueConstraint("watch", "hour_start", name="uq_spikes_watch_hour_start"),
    )
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(
            sa.Column("reach_checked_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("reach_growth_per_hour", sa.Float(), nullable=True))
        batch.add_column(sa.Column("reach_notified", sa.BigInteger(), nullable=True))
    # Every existing complaint's own post becomes its "original" group member.
    op.execute(
        "INSERT INTO complaint_posts (complaint_id, post_id, relation, similarity, added_at) "
        "SELECT id, post_id, 'original', NULL, opened_at FROM complaints"
    )
    op.execute("UPDATE complaints SET reach_notified = reach")


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("reach_notified")
        batch.drop_column("reach_growth_per_hour")
        batch.drop_column("reach_checked_at")
    op.drop_table("spikes")
    op.drop_index(op.f("ix_complaint_posts_complaint_id"), table_name="complaint_posts")
    op.drop_table("complaint_posts")
