"""The database edge of retraining: read the corrections, register the result, activate it.

The model loader is injected (``load``: a SentimentSettings → model function, normally
:func:`sentiment.model.load_model`), so tests and the CLI decide how a model is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from sentiment.config import DEFAULT_MODEL, SentimentSettings
from sentiment.labels import corrections
from sentiment.registry import (
    activate,
    active_model,
    active_model_setting,
    find_model,
    register_model,
)
from sentiment.retrain import RetrainOptions, RetrainResult, Say, retrain
from storage.db import session_scope


def run_retrain(
    factory: sessionmaker[Session],
    settings: SentimentSettings,
    options: RetrainOptions,
    now: datetime,
    load: Callable[[SentimentSettings], Any],
    say: Say | None = None,
) -> RetrainResult:
    """Retrain the active model with every post's newest human label; register the new
    version and activate it when validation did not get worse (see :mod:`sentiment.retrain`).

    A model activated by someone else while this ran is never replaced: the result is then
    registered but left inactive.
    """
    with session_scope(factory) as session:
        resolved = active_model_setting(session, settings)
        found = corrections(session)
    base = load(resolved)
    if say is not None:
        say(f"retraining {base.version} with {len(found)} corrected posts")
    result = retrain(
        base,
        found,
        options,
        lambda folder: load(settings.model_copy(update={"model": folder})),
        say,
    )
    if result.unchanged:
        return result
    with session_scope(factory) as session:
        current = active_model(session)
        current_version = current.version if current is not None else None
        base_still_active = current_version == result.parent or (
            current_version is None and resolved.model == settings.model
        )
        if result.accepted and not base_still_active:
            result.accepted = False
            result.reason = (
                f"{current_version} was activated while this retrain ran; "
                f"{result.version} is registered but not activated"
            )
        row = find_model(session, result.version)
        if row is None:
            assert result.folder is not None
            row = register_model(
                session, result.version, result.folder, result.parent, result.metrics(), now
            )
        else:
            row.metrics = result.metrics()
        if result.accepted:
            activate(session, result.version)
            result.activated = True
            if settings.model != DEFAULT_MODEL:
                result.reason += (
                    f"; note: [sentiment] model = {settings.model!r} names a model itself, so "
                    'the active version scores only once it is set back to "default"'
                )
    return result
