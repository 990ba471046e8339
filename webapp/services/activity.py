"""What readers do with books: ratings, reviews and favourites."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import Book, Favourite, Rating, Review
from webapp.models.activity import REVIEW_MAX_LENGTH
from webapp.models.base import utcnow
from webapp.services import daily_figures, reader_recs
from webapp.services.errors import NotFound, ServiceError
from webapp.services.locking import own_record


def _existing_book(book_id: int) -> Book:
    book = db.session.get(Book, book_id)
    if book is None:
        raise NotFound("There is no such book.")
    return book


def rate(user_id: int, book_id: int, stars: int) -> Rating:
    """Rate a book 1-5, or change the reader's rating of it."""
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise ServiceError("A rating is 1 to 5 stars.")
    _existing_book(book_id)
    rating = db.session.scalar(select(Rating).where(Rating.user_id == user_id, Rating.book_id == book_id))
    if rating is None:
        rating = Rating(user_id=user_id, book_id=book_id, rating=stars)
        db.session.add(rating)
    else:
        rating.rating = stars
        rating.updated_at = utcnow()
        daily_figures.forget(rating.created_at.date())  # its day's ratings by star change
    try:
        db.session.commit()
    except IntegrityError:  # a second request created it meanwhile: update that one
        db.session.rollback()
        rating = db.session.scalar(select(Rating).where(Rating.user_id == user_id, Rating.book_id == book_id))
        rating.rating = stars
        db.session.commit()
    reader_recs.after_reader_action(user_id)
    return rating


LOVED_STARS = 5
MAX_LOVED_AT_ONCE = 50


def mark_loved(user_id: int, book_ids: list[int]) -> int:
    """Rate each of the books the reader says they loved 5★ (onboarding), in one transaction; returns how many.

    Books the reader already rated keep their rating. Unknown book ids refuse the whole
    list (NotFound), so nothing is half-stored.
    """
    wanted = sorted(set(book_ids))
    if not wanted:
        raise ServiceError("Pick at least one book you loved.")
    if len(wanted) > MAX_LOVED_AT_ONCE:
        raise ServiceError(f"Pick at most {MAX_LOVED_AT_ONCE} books at once.")
    found = set(db.session.scalars(select(Book.id).where(Book.id.in_(wanted))))
    if found != set(wanted):
        raise NotFound("One of those books does not exist.")
    rated = set(db.session.scalars(select(Rating.book_id).where(Rating.user_id == user_id, Rating.book_id.in_(wanted))))
    new = [book_id for book_id in wanted if book_id not in rated]
    for book_id in new:
        db.session.add(Rating(user_id=user_id, book_id=book_id, rating=LOVED_STARS))
    try:
        db.session.commit()
    except IntegrityError:  # the same picks sent twice at once: the other request stored them
        db.session.rollback()
        return 0
    reader_recs.after_reader_action(user_id)
    return len(new)


def toggle_favourite(user_id: int, book_id: int) -> bool:
    """Add the book to the reader's favourites, or remove it; returns whether it is a favourite now."""
    _existing_book(book_id)
    removed = db.session.execute(
        delete(Favourite).where(Favourite.user_id == user_id, Favourite.book_id == book_id)
    ).rowcount
    if removed:
        db.session.commit()
        reader_recs.after_reader_action(user_id)
        return False
    db.session.add(Favourite(user_id=user_id, book_id=book_id))
    try:
        db.session.commit()
    except IntegrityError:  # added by a concurrent request
        db.session.rollback()
    reader_recs.after_reader_action(user_id)
    return True


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ServiceError("A review needs some text.")
    if len(body) > REVIEW_MAX_LENGTH:
        raise ServiceError(f"A review can be at most {REVIEW_MAX_LENGTH} characters.")
    return body


def add_review(user_id: int, book_id: int, body: str) -> Review:
    """Publish a review (stored as text; pages escape it)."""
    body = _clean_body(body)
    _existing_book(book_id)
    review = Review(user_id=user_id, book_id=book_id, body=body)
    db.session.add(review)
    db.session.commit()
    reader_recs.after_reader_action(user_id)
    return review


def own_review(user_id: int, review_id: int) -> Review:
    """The review if this reader wrote it; NotFound for anyone else's (no hint that it exists)."""
    return own_record(Review, review_id, user_id, "There is no such review of yours.")


def edit_review(user_id: int, review_id: int, body: str) -> Review:
    """Change the text of the reader's own review."""
    body = _clean_body(body)
    review = own_review(user_id, review_id)
    review.body = body
    review.updated_at = utcnow()
    db.session.commit()
    return review


def delete_review(user_id: int, review_id: int) -> int:
    """Delete the reader's own review; returns the book id."""
    review = own_review(user_id, review_id)
    book_id = review.book_id
    db.session.delete(review)
    db.session.commit()
    return book_id
