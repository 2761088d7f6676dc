"""platform sources: amplifications, author profiles, source health

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "amplifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("amplifier", sa.String(length=300), nullable=False),
        sa.Column("amplifier_followers", sa.BigInteger(), nullable=True),
        sa.Column("amplified_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_amplifications_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amplifications")),
        sa.UniqueConstraint("post_id", "amplifier", name="uq_amplifications_post_amplifier"),
    )
    op.create_index(op.f("ix_amplifications_post_id"), "amplifications", ["post_id"], unique=False)
    op.create_table(
        "author_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("author", sa.String(length=300), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("fetched_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_author_profiles")),
        sa.UniqueConstraint("platform", "author", name="uq_author_profiles_platform_author"),
    )
    with op.batch_alter_table("posts") as batch:
        batch.add_column(
            sa.Column("amplifications", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("amplifier_followers", sa.BigInteger(), nullable=False, server_default="0")
        )
    # Source health reads each source's newest posts by fetch time.
    op.create_index("ix_posts_source_fetched_at", "posts", ["source", "fetched_at"])
    with op.batch_alter_table("crawl_state") as batch:
        batch.add_column(sa.Column("health", sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column("broken_alerted_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("crawl_state") as batch:
        batch.drop_column("broken_alerted_at")
        batch.drop_column("health")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("amplifier_followers")
        batch.drop_column("amplifications")
    op.drop_index("ix_posts_source_fetched_at", table_name="posts")
    op.drop_table("author_profiles")
    op.drop_index(op.f("ix_amplifications_post_id"), table_name="amplifications")
    op.drop_table("amplifications")
