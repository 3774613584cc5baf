"""The console's FastAPI app: `create_app(database_url)` (the daemon may mount it).

JSON API under /api (OpenAPI at /api/openapi.json, docs at /api/docs), server-rendered pages
at /, static files at /static. Every page and API call needs a signed-in user or an API token
(the API docs too, unless `[serve] api_docs_public`). Every response carries the security headers
of twin.api.hardening; sign-in is throttled by twin.api.throttle.
"""

from __future__ import annotations

import os
import secrets
from importlib.resources import files
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError, OperationalError

from twin.alerting.rules import AlertRules
from twin.api.auth import Sessions
from twin.api.clock import ConsoleClock
from twin.api.deps import NotSignedIn, current_user, get_session
from twin.api.hardening import RefuseNul, SecurityHeaders
from twin.api.present import money
from twin.api.throttle import SignInGuard, SignInLimits
from twin.api.views import ConsoleError
from twin.domain.settings import ServeSettings
from twin.store.db import make_engine
from twin.store.migrate import require_current

SECRET_ENV = "TWIN_SECRET_KEY"
SESSION_HOURS = 8.0


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/api/docs-static/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs-static/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script></body></html>
"""


def _docs_reader(request: Request) -> None:
    """Signed in (cookie or token) unless the API docs are public."""
    if request.app.state.api_docs_public:
        return
    for session in get_session(request):
        current_user(request, session)


def _serve_api_docs(app: FastAPI) -> None:
    """The OpenAPI document and Swagger UI at /api/docs from a vendored copy
    (swagger-ui-bundle), its start-up script a static file (no inline script under the CSP):
    FastAPI's default page loads it from a CDN, and the console must work with no internet."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/api/docs-static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static")

    @app.get("/api/openapi.json", include_in_schema=False, dependencies=[Depends(_docs_reader)])
    async def _openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/api/docs", include_in_schema=False, dependencies=[Depends(_docs_reader)])
    async def _docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE.format(title=f"{app.title} - docs"))


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
    serve: ServeSettings | None = None,
) -> FastAPI:
    """The console app on the store at `database_url` (default: TWIN_DATABASE_URL or ./twin.db).

    secret_key signs session cookies (default: TWIN_SECRET_KEY, else a random one: sessions
    then end when the process does). poll_seconds: how often /api/events looks for changes.
    network: the stored network the map shows (default: the most recently updated one).
    clock: the daemon's clock ("wall", or the path of the demo's simulated clock file): pages,
    counts and decisions use its time, and say so when it is simulated.
    serve: the `[serve]` settings (secure cookies, public API docs, sign-in limits).
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
        openapi_url=None,  # served by _serve_api_docs, behind sign-in
        docs_url=None,
        redoc_url=None,
    )
    settings = serve or ServeSettings()
    app.state.engine = engine
    app.state.sessions = Sessions(
        secret_key or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32),
        int(session_hours * 3600),
        secure=settings.secure,
    )
    app.state.sign_in = SignInGuard(
        SignInLimits(
            per_address_per_minute=settings.sign_in_per_minute,
            failures=settings.sign_in_failures,
            window_s=int(settings.sign_in_window.total_seconds()),
            concurrency=settings.sign_in_concurrency,
            queue=settings.sign_in_queue,
        )
    )
    app.state.api_docs_public = settings.api_docs_public
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
        if _is_api(request) and request.url.path != "/api/docs":
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

    @app.exception_handler(DataError)
    async def _refused_by_database(request: Request, exc: DataError) -> Response:
        # Text the database will not store (the engines hide SQL parameters from logs and errors).
        return JSONResponse({"detail": "the database refused a value in the request"}, 422)

    app.add_middleware(RefuseNul)
    app.add_middleware(SecurityHeaders, secure=settings.secure)
    app.include_router(routes_auth.router)
    app.include_router(routes_api.router)
    app.include_router(routes_pages.router)
    return app
