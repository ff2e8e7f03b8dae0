"""One renderer for every package's pages.

Layout templates (`base.html`, `login.html`) live in `pingan/web/templates`; each package keeps the
templates of its own pages in its `templates/` folder, beside its `pages.py`. Template names are
unique across packages, so a page names its template without a path.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from pingan.core.migrate import REPO_ROOT

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
LAYOUT_DIR = PACKAGE_ROOT / "web" / "templates"
HTMX_JS = REPO_ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"


def template_dirs() -> list[Path]:
    """The layout folder first, then every package's `templates/` folder that holds a page."""
    found = sorted(p for p in PACKAGE_ROOT.rglob("templates") if p.is_dir() and any(p.glob("*.html")))
    return [LAYOUT_DIR, *(p for p in found if p != LAYOUT_DIR)]


TEMPLATES = Jinja2Templates(directory=template_dirs())


def render(request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """Render page template `name` with the acting user and whether htmx is served."""
    context.setdefault("actor", getattr(request.state, "actor", None))
    context["htmx"] = HTMX_JS.exists()
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
