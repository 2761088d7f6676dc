"""Settings storage needs: where the database is."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_DATABASE_URL = "sqlite:///uproar.db"


class DatabaseSettings(BaseModel):
    """``[database]`` in uproar.toml. ``UPROAR_DATABASE_URL`` in the environment wins."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path.db or postgresql://user@host/db",
    )
