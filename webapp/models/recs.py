"""The recommender's output: model runs and the cached per-reader recommendations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import utcnow
from webapp.models.catalogue import Book
from webapp.models.users import User

RUN_RUNNING = "running"
RUN_SUCCEEDED = "succeeded"
RUN_FAILED = "failed"

# How a run's metrics were measured: on ``train-recs --evaluate``'s leave-one-out split (every
# model fitted again without each sampled reader's latest interaction), or on the trained model's
# own early-stopping hold-out (one random interaction of each sampled reader kept out of training).
METRICS_LEAVE_ONE_OUT = "leave-one-out"
METRICS_VALIDATION = "validation"


class ModelRun(db.Model):
    """One training of a recommender: its parameters, data sizes, timings and metrics."""

    __tablename__ = "model_runs"
    __table_args__ = (CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Random and never reused (ids are: SQLite hands out an id again after the rows are deleted),
    # so a web process can cache a run's weights under it without pairing them with another run's vectors.
    key: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    algorithm: Mapped[str] = mapped_column(String(40), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default=RUN_RUNNING, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    n_users: Mapped[int | None] = mapped_column(Integer)
    n_items: Mapped[int | None] = mapped_column(Integer)
    n_interactions: Mapped[int | None] = mapped_column(Integer)
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # {algorithm: {"hr@10": ..., "ndcg@10": ..., "protocol": METRICS_*, ...}}
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Exactly one succeeded run is active: the one whose recommendations the site shows.
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class Recommendation(db.Model):
    """A cached recommendation: book ``rank`` (1 = best) for a reader, from one model run."""

    __tablename__ = "recommendations"
    __table_args__ = (
        UniqueConstraint("model_run_id", "user_id", "rank"),
        CheckConstraint("rank >= 1", name="rank_positive"),
        Index("ix_recommendations_user_id_model_run_id", "user_id", "model_run_id"),
        # The statistics screen counts the books a run recommends from this index alone.
        Index("ix_recommendations_model_run_id_book_id", "model_run_id", "book_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(255))

    model_run: Mapped[ModelRun] = relationship()
    user: Mapped[User] = relationship()
    book: Mapped[Book] = relationship()


class SimilarBook(db.Model):
    """A book whose trained embedding is close (cosine) to another's, from one model run."""

    __tablename__ = "similar_books"
    __table_args__ = (CheckConstraint("rank >= 1", name="rank_positive"),)

    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"), primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    similar_book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)


class ReaderFactors(db.Model):
    """A reader's learned vector in the rating model of one run (float32 bytes)."""

    __tablename__ = "reader_factors"

    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary(4096))


class BookFactors(db.Model):
    """A book's learned vector in the rating model of one run (float32 bytes)."""

    __tablename__ = "book_factors"

    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"), primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), primary_key=True, index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary(4096))


class BookVector(db.Model):
    """The content vector of a book added after a run was trained (float32 bytes: GMF part, then MLP part).

    Computed from the run's content tower when the book is created, so it can be recommended
    and has similar books before the next training run.
    """

    __tablename__ = "book_vectors"

    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"), primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), primary_key=True, index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary(4096))


class ModelArtifact(db.Model):
    """A part of one run's named artifact (an ``.npz`` archive, e.g. the rating model's dense layers).

    An artifact is its parts' data in ``part`` order (0, 1, ...): one row each of at most 64
    KiB (``services.recommendations.ARTIFACT_PART_BYTES``), so no INSERT carries more than
    MariaDB's default ``max_allowed_packet`` (16 MiB) however many readers the model holds,
    and one reader's row of a table is read without the rest.
    """

    __tablename__ = "model_artifacts"

    model_run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary(2**24 - 1))
    part: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=0, server_default="0")
