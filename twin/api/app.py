"""The console's FastAPI app: `create_app(database_url)` (the daemon may mount it).

JSON API under /api (OpenAPI at /api/openapi.json, docs at /api/docs), server-rendered pages
at /, static files at /static. Every page and API call needs a signed-in user or an API token.
"""

from __future__ import annotations

import os
import secrets
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import OperationalError

from twin.alerting.rules import AlertRules
from twin.api.auth import Sessions
from twin.api.clock import ConsoleClock
from twin.api.deps import NotSignedIn
from twin.api.present import money
from twin.api.views import ConsoleError
from twin.store.db import make_engine
from twin.store.migrate import require_current

SECRET_ENV = "TWIN_SECRET_KEY"
SESSION_HOURS = 8.0


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _serve_api_docs(app: FastAPI) -> None:
    """Swagger UI at /api/docs from a vendored copy (swagger-ui-bundle): FastAPI's default page
    loads it from a CDN, and the console must work with no internet."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/api/docs-static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static")

    @app.get("/api/docs", include_in_schema=False)
    async def _docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url="/api/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/api/docs-static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )


def network_name(ref: str | None) -> str | None:
    """The stored name of the network `ref` names: a network file or folder given by path is
    stored under the name inside it (the daemon's twin.toml may name its network by path)."""
    if ref is None or not Path(ref).exists():
        return ref
    from twin.files.networks import load_network

    return load_network(ref)[0].name


def create_app(
    database_url: str | None = None,
    *,
    secret_key: str | None = None,
    session_hours: float = SESSION_HOURS,
    poll_seconds: float = 3.0,
    alert_rules: AlertRules | None = None,
    network: str | None = None,
    clock: str = "wall",
) -> FastAPI:
    """The console app on the store at `database_url` (default: TWIN_DATABASE_URL or ./twin.db).

    secret_key signs session cookies (default: TWIN_SECRET_KEY, else a random one: sessions
    then end when the process does). poll_seconds: how often /api/events looks for changes.
    network: the stored network the map shows (default: the most recently updated one).
    clock: the daemon's clock ("wall", or the path of the demo's simulated clock file): pages,
    counts and decisions use its time, and say so when it is simulated.
    Raises SchemaOutdated if the database is not migrated (`twin db upgrade`).
    """
    from twin.api import routes_api, routes_auth, routes_pages

    # No ping before each checkout: a dropped connection fails one request, not every request a round trip.
    engine = make_engine(database_url, pool_pre_ping=False)
    require_current(engine)
    app = FastAPI(
        title="twin on-call console API",
        version="1",
        description="Review, approve, reject and roll back incidents; read the network, scores, "
        "alerts, silences and the audit log. Authenticate with `Authorization: Bearer "
        "TOKEN` (`twin users token NAME`) or the console's session cookie.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.sessions = Sessions(
        secret_key or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32),
        int(session_hours * 3600),
    )
    app.state.poll_seconds = poll_seconds
    app.state.alert_rules = alert_rules or AlertRules()
    app.state.network = network_name(network)
    app.state.clock = ConsoleClock(clock)
    app.state.templates = Jinja2Templates(
        directory=str(Path(str(files("twin.api").joinpath("templates"))))
    )
    app.state.templates.env.filters["money"] = money
    app.mount(
        "/static", StaticFiles(directory=str(files("twin.api").joinpath("static"))), name="static"
    )
    _serve_api_docs(app)

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": exc.message}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(OperationalError)
    async def _store_busy(request: Request, exc: OperationalError) -> Response:
        if "locked" not in str(exc):
            raise exc
        message = (
            "the store is busy (the daemon is writing to it) and nothing was changed: "
            "try again in a few seconds"
        )
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=503)
        return routes_pages.error_page(request, 503, message)

    @app.exception_handler(ConsoleError)
    async def _refused(request: Request, exc: ConsoleError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": exc.message}, status_code=exc.status)
        return routes_pages.error_page(request, exc.status, exc.message)

    app.include_router(routes_auth.router)
    app.include_router(routes_api.router)
    app.include_router(routes_pages.router)
    return app
