"""All models, importable from one place (and registered with the metadata on import)."""

from webapp.models.activity import BookView, Dismissal, Favourite, Rating, Review
from webapp.models.catalogue import Book, Category, Tag, book_tags
from webapp.models.circulation import Hold, Loan
from webapp.models.recs import (
    BookFactors,
    BookVector,
    ModelArtifact,
    ModelRun,
    ReaderFactors,
    Recommendation,
    SimilarBook,
)
from webapp.models.security import LoginFailure, LoginSession
from webapp.models.shop import CartItem, Order, OrderItem
from webapp.models.statistics import DailyFigures
from webapp.models.users import User

__all__ = [
    "Book",
    "BookFactors",
    "BookVector",
    "BookView",
    "CartItem",
    "Category",
    "DailyFigures",
    "Dismissal",
    "Favourite",
    "Hold",
    "Loan",
    "LoginFailure",
    "LoginSession",
    "ModelArtifact",
    "ModelRun",
    "Order",
    "OrderItem",
    "Rating",
    "ReaderFactors",
    "Recommendation",
    "Review",
    "SimilarBook",
    "Tag",
    "User",
    "book_tags",
]
