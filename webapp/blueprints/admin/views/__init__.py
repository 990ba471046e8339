"""Back-office views, one module per menu area; every change with rules goes through the services."""

from webapp.blueprints.admin.views.base import StaffHomeView
from webapp.blueprints.admin.views.catalogue import BookAdmin, BookImportView, CategoryAdmin
from webapp.blueprints.admin.views.library import HoldAdmin, LoanAdmin, OverdueLoanAdmin
from webapp.blueprints.admin.views.readers import RatingAdmin, ReaderAdmin, ReviewAdmin
from webapp.blueprints.admin.views.recommender import ModelRunAdmin, RecommendationAdmin
from webapp.blueprints.admin.views.shop import OrderAdmin

__all__ = [
    "BookAdmin",
    "BookImportView",
    "CategoryAdmin",
    "HoldAdmin",
    "LoanAdmin",
    "ModelRunAdmin",
    "OrderAdmin",
    "OverdueLoanAdmin",
    "RatingAdmin",
    "ReaderAdmin",
    "RecommendationAdmin",
    "ReviewAdmin",
    "StaffHomeView",
]
