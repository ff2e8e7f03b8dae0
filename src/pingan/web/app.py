"""FastAPI application assembly: routers, pages, error mapping and the request-size guard."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from pingan import __version__
from pingan.antifraud.mules.review import api as mules_review_api
from pingan.antifraud.orders import api as orders_api
from pingan.antifraud.orders import pages as orders_pages
from pingan.antifraud.orders import queries as orders_queries
from pingan.antifraud.orders.callbacks import create_callback_app
from pingan.antifraud.outcomes import pages as outcomes_pages
from pingan.antifraud.reports import api as reports_api
from pingan.antifraud.reports import pages as reports_pages
from pingan.antifraud.reports.story import register_story_sources
from pingan.antifraud.risk import api as risk_api
from pingan.antifraud.risk import pages as risk_pages
from pingan.antifraud.screening import pages as screening_pages
from pingan.antifraud.tracing import api as tracing_api
from pingan.antifraud.warnings import api as warnings_api
from pingan.antifraud.warnings import pages as warnings_pages
from pingan.antifraud.warnings import queries as warnings_queries
from pingan.antifraud.warnings.gateway_api import create_gateway_app
from pingan.antifraud.watchlist import api as watchlist_api
from pingan.command import api as command_api
from pingan.command import classify_api
from pingan.command import map as command_map
from pingan.command import pages as command_pages
from pingan.command import recommend_web as command_recommend
from pingan.command import stats_web as command_stats
from pingan.community import api as community_api
from pingan.community import pages as community_pages
from pingan.core import account_pages, admin_pages, audit_api, audit_pages, auth_api, db
from pingan.core import live as core_live
from pingan.core.auth import TOKEN_COOKIE, actor_from_token, require_roles
from pingan.core.deps import MAX_ROW_ID
from pingan.core.errors import DomainError, Invalid
from pingan.core.i18n import N_, LanguageMiddleware, _
from pingan.core.logging import get_logger
from pingan.core.pages import page_message, register_nav, render
from pingan.core.roles import HUMAN_ROLES
from pingan.core.settings import get_settings
from pingan.narcotics import api as narcotics_api
from pingan.narcotics import pages as narcotics_pages
from pingan.sensors import api as sensors_api
from pingan.sensors import pages as sensors_pages
from pingan.supervision import api as supervision_api
from pingan.supervision import approvals_api as supervision_approvals_api
from pingan.supervision import approvals_pages as supervision_approvals_pages
from pingan.supervision import ledger_api as supervision_ledger_api
from pingan.supervision import ledger_pages as supervision_ledger_pages
from pingan.supervision import pages as supervision_pages
from pingan.supervision.callbacks import api as callbacks_api
from pingan.supervision.callbacks import pages as callbacks_pages
from pingan.supervision.complaints import api as complaints_api
from pingan.supervision.complaints import pages as complaints_pages
from pingan.supervision.directives import api as directives_api
from pingan.supervision.directives import pages as directives_pages
from pingan.traffic import api as traffic_api
from pingan.traffic import pages as traffic_pages
from pingan.web import live, reactions
from pingan.web import pages as web_pages
from pingan.web.headers import SecurityHeaders
from pingan.web.limits import BodyLimit
from pingan.web.metrics import render_metrics
from pingan.web.navigation import GROUPS, MENU

log = get_logger("web")
STATIC_DIR = Path(__file__).parent / "static"

# Every package's routers, API and pages; the shared pages (login, logout) last.
ROUTERS = (
    auth_api.router,
    audit_api.router,
    audit_pages.router,
    admin_pages.router,
    account_pages.router,
    reports_api.router,
    reports_pages.router,
    orders_api.router,
    orders_pages.router,
    risk_api.router,
    watchlist_api.router,
    risk_pages.router,
    outcomes_pages.router,
    screening_pages.router,
    mules_review_api.router,
    tracing_api.router,
    warnings_api.router,
    warnings_pages.router,
    command_api.router,
    command_pages.router,
    command_stats.api_router,
    command_stats.page_router,
    command_map.router,
    core_live.router,
    command_recommend.router,
    community_api.router,
    community_pages.router,
    web_pages.router,
    classify_api.router,
    classify_api.pages_router,
    sensors_api.router,
    sensors_pages.router,
    supervision_ledger_api.router,
    supervision_approvals_api.router,
    supervision_approvals_pages.router,
    supervision_api.router,
    supervision_ledger_pages.router,
    supervision_pages.router,
    complaints_api.router,
    complaints_pages.router,
    callbacks_api.router,
    callbacks_pages.router,
    directives_api.router,
    directives_pages.router,
    narcotics_api.router,
    narcotics_pages.router,
    traffic_api.router,
    traffic_pages.router,
)


def _field_of(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for e in exc.errors():
        if e.get("type") == "json_invalid":
            # The location of a JSON syntax error is a character offset, not a field.
            pos = e.get("loc", ("body", "?"))[-1]
            errors.append({"field": "body", "message": f"malformed JSON at character {pos}"})
        else:
            errors.append(
                {"field": _field_of(tuple(e.get("loc", ()))), "message": str(e.get("msg", "invalid"))}
            )
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    if _page_request(_request):
        return _error_page(_request, 422, "; ".join(f"{e['field']}: {e['message']}" for e in errors))
    return JSONResponse(
        status_code=422,
        content={
            "error": "invalid",
            "field": first["field"],
            "message": f"{first['field']}: {first['message']}",
            "errors": errors,
        },
    )


def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if _page_request(request):
        # A page asked by a browser: the login form, or a page that says what went wrong, with the menu.
        if exc.status == 401:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return _error_page(request, exc.status, page_message(exc))
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(status_code=exc.status, content=exc.as_dict(), headers=headers)


_ERROR_FALLBACK = N_("Something went wrong")
_ERROR_TITLES = {
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not supported here"),
    409: N_("Conflict"),
    422: N_("Invalid input"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong on our side"),
}


def _wants_html(request: Request) -> bool:
    # Browsers ask for text/html; API clients, curl and the tests' clients do not.
    return "text/html" in request.headers.get("accept", "")


def _page_request(request: Request) -> bool:
    """A browser asking for a page (not the API): its errors are pages in the site's layout."""
    return not request.url.path.startswith("/api/") and _wants_html(request)


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The error as a page with the menu and logout: the user sees what went wrong and where to go."""
    if getattr(request.state, "actor", None) is None and (token := request.cookies.get(TOKEN_COOKIE)):
        # A refusal raised before any page dependency ran (an unknown path): find the user for the menu.
        try:
            with db.read_transaction() as session:
                request.state.actor = actor_from_token(session, token)
        except Exception:
            request.state.actor = None
    title = _(_ERROR_TITLES.get(status, _ERROR_FALLBACK))
    return render(request, "error.html", status, status=status, title=title, message=message)


def _server_error(request: Request, exc: Exception) -> Response:
    """A fault of ours (500): logged with its traceback; the user gets a page or a JSON body without it."""
    log.error("unhandled_error", path=request.url.path, exc_info=exc)
    message = _("Please try again later; the fault has been logged.")
    if _page_request(request):
        try:
            return _error_page(request, 500, message)
        except Exception:
            return HTMLResponse(f"<!doctype html><html lang=zh-CN><title>500</title><p>{message}</p>", 500)
    return JSONResponse(status_code=500, content={"error": "internal", "message": "internal server error"})


MAX_DB_INT = MAX_ROW_ID


def _out_of_range(request: Request, exc: Exception) -> Response:
    """A number too large for the database is the client's error: name the parameter that carried it.

    Routes declare `int` ids; a value past the column's range passes that, and only the database
    refuses it (SQLite past 64 bits with OverflowError, PostgreSQL past 32 with "out of range").
    Any other database error is a fault of ours, and stays a 500.
    """
    params = {**request.path_params, **dict(request.query_params)}
    for name, value in params.items():
        try:
            # "2147483648" and "2147483648.0" both pass as an int; the database refuses either.
            number = abs(Decimal(str(value)))
        except InvalidOperation:
            continue
        if number.is_finite() and number > MAX_DB_INT:
            error = Invalid(f"{value} is out of range (at most {MAX_DB_INT})", field=name)
            if _page_request(request):
                return _error_page(request, 422, str(error))
            return JSONResponse(status_code=422, content=error.as_dict())
    raise exc


def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (an unparsable body, a wrong method, an unknown path) in the platform's
    error format: a page for a browser, JSON for an API client."""
    assert isinstance(exc, StarletteHTTPException)
    if _page_request(request) and exc.status_code >= 400:
        text = _("There is no such page.") if exc.status_code == 404 else str(exc.detail)
        return _error_page(request, exc.status_code, text)
    code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    body: dict[str, object] = {"error": code, "message": str(exc.detail)}
    if exc.status_code == 400:
        body["field"] = "body"
    return JSONResponse(status_code=exc.status_code, content=body, headers=getattr(exc, "headers", None))


def _docs_behind_login(app: FastAPI) -> None:
    """Serve /openapi.json and /docs to logged-in users only (a bearer token or the login cookie)."""
    from fastapi.openapi.docs import get_swagger_ui_html

    anyone_logged_in = Depends(require_roles(*HUMAN_ROLES))

    @app.get("/openapi.json", include_in_schema=False, dependencies=[anyone_logged_in])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[anyone_logged_in])
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="pingan 平安 API")


def create_app() -> FastAPI:
    """Build the application with every router and page."""
    settings = get_settings()
    docs_public = settings.api_docs_public if settings.api_docs_public is not None else settings.demo
    app = FastAPI(
        title="pingan 平安",
        version=__version__,
        description="Smart-policing platform: anti-fraud, command, supervision.",
        # Outside demo mode the API's map is for logged-in users only (`_docs_behind_login`).
        docs_url="/docs" if docs_public else None,
        redoc_url="/redoc" if docs_public else None,
        openapi_url="/openapi.json" if docs_public else None,
    )
    if not docs_public:
        _docs_behind_login(app)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DBAPIError, _out_of_range)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(LanguageMiddleware)  # each request's language, before any page renders

    for router in ROUTERS:
        app.include_router(router)
    # Banks authenticate by HMAC signature per message, not by role tokens: a separate sub-app.
    app.mount("/bank-interface", create_callback_app())
    # Kannel cannot log in: its DLRs carry an HMAC token of the message id instead (gateway_api.py).
    app.mount("/sms-gateway", create_gateway_app())
    reactions.install()
    live.install()
    register_nav(MENU, GROUPS)
    register_story_sources([orders_queries.report_story, warnings_queries.report_story])
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> PlainTextResponse:
        # Aggregate operational figures only, no personal data: open to the Prometheus scraper
        # on the bureau's internal network, as is usual for /metrics.
        return PlainTextResponse(render_metrics(), media_type="text/plain; version=0.0.4")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
