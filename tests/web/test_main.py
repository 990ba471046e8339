"""The home page, the health check and the error pages."""


def test_home_page_on_an_empty_database(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No categories yet" in response.get_data(as_text=True)


def test_home_page_shows_categories_and_books(client, runner, small_demo_dir):
    runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    page = client.get("/").get_data(as_text=True)
    assert "Categories" in page
    assert "Hot right now" in page and "New arrivals" in page
    assert 'alt="Cover of' in page
    assert "/bootstrap/static/css/bootstrap.min.css" in page  # served locally, no CDN
    assert "cdn.jsdelivr" not in page


def test_local_bootstrap_assets_are_served(client):
    assert client.get("/bootstrap/static/css/bootstrap.min.css").status_code == 200
    assert client.get("/static/js/covers.js").status_code == 200


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_missing_page_is_a_styled_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Back to the home page" in response.get_data(as_text=True)


def test_json_clients_get_json_errors(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json["status"] == 404


def test_unexpected_error_is_a_styled_500(database_url):
    from tests.helpers import make_config
    from webapp import create_app

    app = create_app(make_config(database_url))

    @app.route("/boom-for-test")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/boom-for-test")
    assert response.status_code == 500
    assert "Nothing was changed" in response.get_data(as_text=True)


def test_the_site_has_an_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data
