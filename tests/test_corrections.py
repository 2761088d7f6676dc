"""Human labels, the model registry, rescoring and retraining with corrections.

Retraining runs for real (the default model's encoder, scikit-learn, calibration, the
bootstrap gate, load_model on the folder it writes) on a tiny sample of the shared data, so
the whole module stays well under a minute once the embeddings are cached.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from sentiment.config import SentimentSettings
from sentiment.data import Example, load_semeval, split_zh
from sentiment.errors import ModelError
from sentiment.head import NEVER, load_head
from sentiment.labels import (
    LabelError,
    add_label,
    corrections,
    label_history,
    post_of_complaint,
)
from sentiment.model import load_model
from sentiment.paired import compare, judge
from sentiment.registry import (
    activate,
    active_model,
    active_model_setting,
    default_models_dir,
    find_model,
    models_dir,
    register_model,
)
from sentiment.retrain import RetrainOptions, retrain
from sentiment.retrain_data import Sizes
from sentiment.retrain_run import run_retrain
from sentiment.store import score_unscored_posts
from storage.db import open_database, session_scope
from storage.models import Complaint, Post, SentimentModelVersion, SentimentScore
from storage.posts import NewPost, count_posts_without_score, save_posts

# The shared data beside the checkout (../shared/data), found from a worktree too.
DATA = next(
    (
        p / "shared" / "data"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "data").is_dir()
    ),
    Path(__file__).resolve().parents[1].parent / "shared" / "data",
)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TINY = Sizes(en_train=120, zh_train_per_source=25, validation_limit=80, seed=13)
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"training data not found at {DATA}")


def _posts(factory: sessionmaker[Session], texts: list[str], **fields: Any) -> list[int]:
    """Store posts with these texts; their ids in order."""
    published = fields.pop("published_at", None)
    with session_scope(factory) as session:
        existing = session.execute(select(func.count()).select_from(Post)).scalar_one()
        batch = [
            NewPost(
                source="test",
                platform="web",
                external_id=str(existing + i),
                text=text,
                published_at=published,
                **fields,
            )
            for i, text in enumerate(texts)
        ]
        save_posts(session, batch, NOW)
        ids = session.execute(
            select(Post.id).where(Post.external_id.in_([p.external_id for p in batch]))
        )
        return sorted(ids.scalars())


# --- labels ----------------------------------------------------------------------------


def test_labels_keep_history_and_the_newest_wins(session_factory: sessionmaker[Session]) -> None:
    first, second = _posts(session_factory, ["Parcel never came", "Lovely duvet"])
    with session_scope(session_factory) as session:
        add_label(session, first, "neutral", None, "amira", NOW)
        add_label(session, first, "negative", "logistics", "ben", NOW + timedelta(minutes=5))
        add_label(session, second, "positive", None, "amira", NOW)
    with session_scope(session_factory) as session:
        history = label_history(session, first)
        found = {c.post_id: c for c in corrections(session)}
    assert [(h.sentiment, h.labeller) for h in history] == [
        ("neutral", "amira"),
        ("negative", "ben"),
    ]
    assert found[first].sentiment == "negative" and found[first].category == "logistics"
    assert found[first].labeller == "ben" and found[first].text == "Parcel never came"
    assert found[second].sentiment == "positive" and found[second].category is None


@pytest.mark.parametrize(
    ("sentiment", "category", "message"),
    [
        ("angry", None, "unknown sentiment 'angry'"),
        ("negative", "weather", "unknown category 'weather'"),
        ("positive", "logistics", "goes with --sentiment negative"),
    ],
)
def test_labels_refuse_unknown_values(
    session_factory: sessionmaker[Session], sentiment: str, category: str | None, message: str
) -> None:
    (post,) = _posts(session_factory, ["Where is my refund?"])
    with session_scope(session_factory) as session, pytest.raises(LabelError, match=message):
        add_label(session, post, sentiment, category, "amira", NOW)


def test_labels_name_an_unknown_post_or_complaint(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        with pytest.raises(LabelError, match="no post with id 999"):
            add_label(session, 999, "negative", None, "amira", NOW)
        with pytest.raises(LabelError, match="no complaint with id 5"):
            post_of_complaint(session, 5)


def test_a_complaint_id_leads_to_its_post(session_factory: sessionmaker[Session]) -> None:
    _posts(session_factory, ["unrelated"])
    (post,) = _posts(session_factory, ["Rude staff at the counter"])
    with session_scope(session_factory) as session:
        complaint = Complaint(
            post_id=post,
            priority="P2",
            reach=900,
            negativity=0.9,
            ack_due_at=NOW,
            response_due_at=NOW,
            resolution_due_at=NOW,
        )
        session.add(complaint)
        session.flush()
        assert post_of_complaint(session, complaint.id) == post


# --- registry --------------------------------------------------------------------------


def test_models_dir_is_configured_or_beside_the_sqlite_database(tmp_path: Path) -> None:
    assert default_models_dir(f"sqlite:///{tmp_path / 'data' / 'uproar.db'}") == (
        tmp_path / "data" / "uproar-models"
    )
    assert default_models_dir("postgresql://u@h/db") == Path(".uproar/models")
    assert default_models_dir("sqlite://") == Path(".uproar/models")
    configured = SentimentSettings(models_dir=tmp_path / "m")
    assert models_dir(configured, "sqlite:///x.db") == tmp_path / "m"


def test_registry_activates_one_version_and_resolves_default(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    settings = SentimentSettings()
    with session_scope(session_factory) as session:
        assert active_model_setting(session, settings) == settings
        register_model(session, "v1", one, None, {"decision": {"accepted": True}}, NOW)
        register_model(session, "v2", two, "v1", {}, NOW)
        with pytest.raises(ModelError, match="already registered"):
            register_model(session, "v2", two, "v1", {}, NOW)
        activate(session, "v1")
        activate(session, "v2")
    with session_scope(session_factory) as session:
        active = active_model(session)
        assert active is not None and active.version == "v2"
        assert active.parent_version == "v1"
        count = select(func.count()).where(SentimentModelVersion.active.is_(True))
        assert session.execute(count).scalar_one() == 1
        assert active_model_setting(session, settings).model == str(two.resolve())
        explicit = SentimentSettings(model=str(one))
        assert active_model_setting(session, explicit) is explicit
        with pytest.raises(ModelError, match="no registered sentiment model 'v9'"):
            activate(session, "v9")
        activate(session, "default")
    with session_scope(session_factory) as session:
        assert active_model(session) is None
        assert active_model_setting(session, settings).model == "default"
        activate(session, "v1")
    one.rmdir()
    with session_scope(session_factory) as session, pytest.raises(ModelError, match="missing"):
        active_model_setting(session, settings)


# --- every score records its model version; rescoring ------------------------------------


def test_model_version_is_required_on_every_score(session_factory: sessionmaker[Session]) -> None:
    (post,) = _posts(session_factory, ["fine"])
    with pytest.raises(IntegrityError), session_scope(session_factory) as session:
        session.add(
            SentimentScore(
                post_id=post, model_version=None, negative=0, neutral=1, positive=0, label="neutral"
            )
        )
        session.flush()


@pytest.fixture(scope="module")
def default_model() -> Any:
    return load_model(SentimentSettings(threads=2))


def test_rescore_scores_recent_posts_once_per_model_version(
    session_factory: sessionmaker[Session], default_model: Any
) -> None:
    old = _posts(
        session_factory, ["Old complaint: parcel lost"], published_at=NOW - timedelta(days=90)
    )
    recent = _posts(
        session_factory,
        ["My order is two weeks late and nobody answers", "Great service, thanks!"],
        published_at=NOW - timedelta(days=3),
        watch="larkspur",
    )
    other_watch = _posts(session_factory, ["meh"], published_at=NOW - timedelta(days=1), watch="x")
    with session_scope(session_factory) as session:
        session.add(
            SentimentScore(
                post_id=recent[0],
                model_version="an-older-model",
                negative=0.1,
                neutral=0.8,
                positive=0.1,
                label="neutral",
            )
        )
    since = NOW - timedelta(days=30)
    with session_scope(session_factory) as session:
        assert count_posts_without_score(session, default_model.version, since) == 3
        assert count_posts_without_score(session, default_model.version, since, "larkspur") == 2
    done: list[int] = []
    written = score_unscored_posts(
        session_factory,
        default_model,
        batch_size=1,
        since=since,
        watch="larkspur",
        progress=done.append,
    )
    assert written == 2 and sum(done) == 2
    again = score_unscored_posts(session_factory, default_model, since=since, watch="larkspur")
    assert again == 0
    with session_scope(session_factory) as session:
        rows = session.execute(select(SentimentScore.post_id, SentimentScore.model_version)).all()
    assert sorted(rows) == sorted(
        [(recent[0], "an-older-model")] + [(p, default_model.version) for p in recent]
    )
    assert old[0] not in {p for p, _ in rows} and other_watch[0] not in {p for p, _ in rows}


# --- the paired test -------------------------------------------------------------------


def test_paired_bootstrap_tolerates_noise_and_refuses_a_real_drop() -> None:
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 3, size=600)
    before = np.where(rng.random(600) < 0.7, gold, (gold + 1) % 3)
    wobble = before.copy()
    flip = rng.choice(600, size=6, replace=False)
    wobble[flip] = (wobble[flip] + 1) % 3  # a handful of changed labels
    worse = np.where(rng.random(600) < 0.5, before, (gold + 2) % 3)
    same = compare("noise", gold, before, wobble, max_drop=0.01)
    clearly = compare("worse", gold, before, worse, max_drop=0.01)
    assert not same.worse
    assert clearly.worse and clearly.significantly_worse and clearly.upper < 0
    assert judge([same])[0] is True
    accepted, reason = judge([same, clearly])
    assert not accepted and "worse" in reason


# --- retraining ------------------------------------------------------------------------


@dataclass
class World:
    """A smoke-sized base model (its heads refitted on TINY) beside the default one."""

    models_dir: Path
    cache_dir: Path
    base_version: str
    base_folder: Path
    load: Callable[[SentimentSettings], Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, default_model: Any) -> Iterator[World]:
    if not DATA.is_dir():
        pytest.skip(f"training data not found at {DATA}")
    root = tmp_path_factory.mktemp("retrain")
    loaded: dict[str, Any] = {"default": default_model}

    def load(settings: SentimentSettings) -> Any:
        if settings.model not in loaded:
            loaded[settings.model] = load_model(settings.model_copy(update={"threads": 2}))
        return loaded[settings.model]

    options = RetrainOptions(DATA, root / "models", root / "cache", sizes=TINY)
    base = retrain(default_model, [], options, lambda folder: load(SentimentSettings(model=folder)))
    assert base.folder is not None and base.folder.is_dir()
    yield World(root / "models", root / "cache", base.version, base.folder, load)


def _world_database(world: World, tmp_path: Path) -> sessionmaker[Session]:
    """A fresh database whose active model is the world's base model."""
    _engine, factory = open_database(f"sqlite:///{tmp_path / 'retrain.db'}")
    with session_scope(factory) as session:
        register_model(session, world.base_version, world.base_folder, None, {}, NOW)
        activate(session, world.base_version)
    return factory


def _options(world: World, weight: float) -> RetrainOptions:
    return RetrainOptions(
        DATA, world.models_dir, world.cache_dir, sizes=TINY, correction_weight=weight
    )


def _label_examples(factory: sessionmaker[Session], examples: list[Example], flip: bool) -> None:
    """Store the examples as posts, labelled with their gold label or its opposite."""
    names = ("negative", "neutral", "positive")
    flipped = {0: "positive", 1: "negative", 2: "negative"}
    ids = _posts(factory, [e.text for e in examples])
    with session_scope(factory) as session:
        for post, example in zip(ids, examples, strict=True):
            sentiment = flipped[example.label] if flip else names[example.label]
            add_label(session, post, sentiment, None, "tester", NOW)


@needs_data
def test_retrain_writes_a_complete_loadable_model_folder(world: World) -> None:
    spec = json.loads((world.base_folder / "model.json").read_text(encoding="utf-8"))
    assert spec["version"] == world.base_version and "+r" in world.base_version
    assert spec["retrain"]["en_train"] == TINY.en_train
    for language in ("en", "zh"):
        head = spec["heads"][language]
        assert (world.base_folder / head["file"]).is_file()
        assert 0 < head["negativity_threshold"] <= 0.5
        assert head["retrain"]["calibration"]["method"] in ("temperature", "vector")
    # The Chinese reviews are two-class, yet the refitted zh head still says neutral.
    assert spec["heads"]["zh"]["retrain"]["method"] == "anchored"
    zh_head = load_head(world.base_folder / spec["heads"]["zh"]["file"], classes=3, dim=384)
    assert float(zh_head.bias[1]) > NEVER / 2
    model = world.load(SentimentSettings(model=str(world.base_folder)))
    assert model.version == world.base_version
    scores = model.score(["the parcel arrived smashed", "很好"])
    assert [s.model for s in scores] == [world.base_version] * 2


@needs_data
def test_retrain_with_nothing_new_is_the_same_model(world: World, tmp_path: Path) -> None:
    factory = _world_database(world, tmp_path)
    result = run_retrain(factory, SentimentSettings(), _options(world, 5.0), NOW, world.load)
    assert result.unchanged and result.version == world.base_version
    with session_scope(factory) as session:
        active = active_model(session)
        assert active is not None and active.version == world.base_version


@needs_data
def test_retrain_accepts_a_refit_with_correct_labels(world: World, tmp_path: Path) -> None:
    factory = _world_database(world, tmp_path)
    _label_examples(factory, load_semeval(DATA)[30_000:30_025], flip=False)
    result = run_retrain(factory, SentimentSettings(), _options(world, 2.0), NOW, world.load)
    assert result.accepted and result.activated, result.reason
    assert result.version != world.base_version and result.parent == world.base_version
    assert result.corrections["en"] == 25
    with session_scope(factory) as session:
        active = active_model(session)
        assert active is not None and active.version == result.version
        assert active.parent_version == world.base_version
        assert active.metrics is not None
        assert set(active.metrics) >= {"before", "after", "comparisons", "decision"}
        assert "tweeteval_val_macro_recall" in active.metrics["before"]
        assert "sst2_dev_accuracy" in active.metrics["after"]
        resolved = active_model_setting(session, SentimentSettings())
    assert world.load(resolved).version == result.version


@needs_data
def test_retrain_refuses_a_model_taught_flipped_labels(world: World, tmp_path: Path) -> None:
    factory = _world_database(world, tmp_path)
    zh_train = split_zh(DATA, 13, 500, 300).train
    _label_examples(factory, load_semeval(DATA)[31_000:31_080] + zh_train[-60:], flip=True)
    result = run_retrain(factory, SentimentSettings(), _options(world, 100.0), NOW, world.load)
    assert not result.accepted and not result.activated, result.comparisons
    assert "worse" in result.reason
    assert any(c.worse for c in result.comparisons)
    assert result.corrections == {"en": 80, "zh": 60}
    with session_scope(factory) as session:
        active = active_model(session)
        assert active is not None and active.version == world.base_version
        refused = find_model(session, result.version)
        assert refused is not None and not refused.active
        assert refused.metrics is not None and refused.metrics["decision"]["accepted"] is False
    assert Path(refused.folder).is_dir()


@needs_data
def test_second_retrain_reads_embeddings_from_the_cache(world: World) -> None:
    cached = sorted(world.cache_dir.glob("*.npy"))
    names = {path.name.split("-")[0] for path in cached}
    assert {"train", "tweeteval_val", "zh_val", "sst2_dev"} <= names
    messages: list[str] = []
    retrain(
        world.load(SentimentSettings(model=str(world.base_folder))),
        [],
        _options(world, 5.0),
        lambda folder: world.load(SentimentSettings(model=folder)),
        messages.append,
    )
    assert "embeddings: 5 sets from the cache, 0 computed" in messages
