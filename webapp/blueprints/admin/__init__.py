"""The back office: Flask-Admin at /admin, for staff only."""

from __future__ import annotations

from flask import Flask, request
from flask_admin import Admin
from flask_admin.menu import MenuLink
from flask_admin.theme import Bootstrap4Theme


def init_admin(app: Flask) -> Admin:
    """Build the back office for ``app``.

    Flask-Admin views keep a reference to the blueprint of the one app they were
    registered with, so each app gets its own ``Admin`` and views (the tests build
    several apps in one process).
    """
    from webapp.blueprints.admin import views
    from webapp.extensions import db
    from webapp.models import Book, Category, Hold, Loan, ModelRun, Order, Rating, Recommendation, Review, User

    admin = Admin(
        name="Athenaeum staff",
        # Flask-Admin's layout with a language, landmarks and an h1 (templates/admin/athenaeum_base.html).
        theme=Bootstrap4Theme(fluid=True, base_template="admin/athenaeum_base.html"),
        index_view=views.StaffHomeView(name="Home", url="/admin"),
        # Flask-Admin's own inline scripts carry the nonce of the Content-Security-Policy (webapp/security.py).
        csp_nonce_generator=lambda: getattr(request, "csp_nonce", ""),
    )
    admin.add_views(
        views.BookAdmin(Book, db, name="Books", category="Catalogue", endpoint="book"),
        views.BookImportView(name="Import books (CSV)", category="Catalogue", endpoint="book_import"),
        views.CategoryAdmin(Category, db, name="Categories", category="Catalogue", endpoint="category"),
        views.ReaderAdmin(User, db, name="Readers", endpoint="reader"),
        views.LoanAdmin(Loan, db, name="Loans", category="Library", endpoint="loan"),
        views.OverdueLoanAdmin(Loan, db, name="Overdue loans", category="Library", endpoint="overdue"),
        views.HoldAdmin(Hold, db, name="Holds", category="Library", endpoint="hold"),
        views.OrderAdmin(Order, db, name="Orders", category="Shop", endpoint="order"),
        views.ReviewAdmin(Review, db, name="Reviews", category="Readers' activity", endpoint="review"),
        views.RatingAdmin(Rating, db, name="Ratings", category="Readers' activity", endpoint="rating"),
        views.ModelRunAdmin(ModelRun, db, name="Model runs", category="Recommender", endpoint="model_run"),
        views.RecommendationAdmin(
            Recommendation, db, name="Cached recommendations", category="Recommender", endpoint="recommendation"
        ),
    )
    admin.add_link(MenuLink(name="Statistics", endpoint="dashboard.index"))
    admin.add_link(MenuLink(name="Back to the site", endpoint="main.index"))
    admin.init_app(app)
    return admin
