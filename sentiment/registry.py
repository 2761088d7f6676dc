"""The registry of retrained sentiment models: which versions exist, where, and which is active.

Each retrained model is a complete model folder (model.json + head files) under the models
directory; the ``sentiment_models`` table records its version, folder, parent, metrics and
whether it is the active one. ``[sentiment] model = "default"`` means the active registered
version when there is one, else the committed default model: callers resolve that with
:func:`active_model_setting` before :func:`sentiment.model.load_model`, so the model loader
itself never needs the database.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from sentiment.config import DEFAULT_MODEL, SentimentSettings
from sentiment.errors import ModelError
from storage.models import SentimentModelVersion

FALLBACK_MODELS_DIR = Path(".uproar") / "models"


def default_models_dir(database_url: str | None) -> Path:
    """Where retrained models go when ``[sentiment] models_dir`` is unset: beside a SQLite
    database file (``data/uproar.db`` → ``data/uproar-models``), else ``.uproar/models``."""
    if database_url:
        try:
            parsed = make_url(database_url)
        except Exception:
            return FALLBACK_MODELS_DIR
        database = parsed.database
        if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
            path = Path(database).expanduser()
            return path.parent / f"{path.stem}-models"
    return FALLBACK_MODELS_DIR


def models_dir(settings: SentimentSettings, database_url: str | None) -> Path:
    """The configured models directory, or :func:`default_models_dir`."""
    if settings.models_dir is not None:
        return settings.models_dir.expanduser()
    return default_models_dir(database_url)


def list_models(session: Session) -> list[SentimentModelVersion]:
    """Every registered version, oldest first."""
    query = select(SentimentModelVersion).order_by(
        SentimentModelVersion.created_at, SentimentModelVersion.id
    )
    return list(session.execute(query).scalars())


def find_model(session: Session, version: str) -> SentimentModelVersion | None:
    query = select(SentimentModelVersion).where(SentimentModelVersion.version == version)
    return session.execute(query).scalar_one_or_none()


def active_model(session: Session) -> SentimentModelVersion | None:
    """The active registered version, or None (then the default model scores)."""
    query = select(SentimentModelVersion).where(SentimentModelVersion.active.is_(True))
    return session.execute(query.order_by(SentimentModelVersion.id.desc())).scalars().first()


def register_model(
    session: Session,
    version: str,
    folder: Path,
    parent_version: str | None,
    metrics: dict[str, Any],
    now: datetime,
) -> SentimentModelVersion:
    """Record a model folder written by a retrain (inactive); the caller commits."""
    if find_model(session, version) is not None:
        raise ModelError(f"sentiment model version {version} is already registered")
    row = SentimentModelVersion(
        version=version,
        folder=str(folder.resolve()),
        parent_version=parent_version,
        metrics=metrics,
        active=False,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def activate(session: Session, version: str) -> SentimentModelVersion | None:
    """Make ``version`` the active model (``"default"``: none, the committed default model).

    Returns the activated row (None for the default). The caller commits.
    """
    if version == DEFAULT_MODEL:
        session.execute(update(SentimentModelVersion).values(active=False))
        return None
    row = find_model(session, version)
    if row is None:
        known = ", ".join(m.version for m in list_models(session)) or "none"
        raise ModelError(f"no registered sentiment model {version!r}; registered: {known}")
    if not Path(row.folder).is_dir():
        raise ModelError(f"sentiment model {version}: its folder {row.folder} is missing")
    session.execute(
        update(SentimentModelVersion).where(SentimentModelVersion.id != row.id).values(active=False)
    )
    row.active = True
    session.flush()
    return row


def active_model_setting(session: Session, settings: SentimentSettings) -> SentimentSettings:
    """``settings`` with ``model = "default"`` replaced by the active version's folder.

    Any other setting (a folder, ``"hf"``) is an explicit choice and is returned unchanged.
    """
    if settings.model != DEFAULT_MODEL:
        return settings
    row = active_model(session)
    if row is None:
        return settings
    if not Path(row.folder).is_dir():
        raise ModelError(
            f"the active sentiment model {row.version} lives in {row.folder}, which is missing; "
            "restore it, or go back with: uproar sentiment activate default"
        )
    return settings.model_copy(update={"model": row.folder})
