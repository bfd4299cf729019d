"""The pages' ASGI application, mounted at ``/`` by the node's server.

A page route checks the session cookie (``parley.node.sessions``), then renders the page's frame
in the officer's language: the navigation, the officer, the session's CSRF token for the page's
scripts, and the strings those scripts show. Without a live session a page sends its reader to
``/login``. The data itself comes from ``/api/v1``, read by the page's scripts with the same
cookie, so the pages show exactly what the API lets the officer see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from parley.core.entry import parse_ref
from parley.core.errors import InvalidEntryError, NotAuthenticatedError
from parley.formats.categories import CATEGORIES
from parley.node import sessions
from parley.node import settings as officer_settings
from parley.node.access import Action, Principal
from parley.node.node import Node, now_ms
from parley.node.settings import Settings
from parley.web import i18n
from parley.web.security import PageHeaders

HERE = Path(__file__).parent
SESSION_COOKIE = "parley_session"
LANG_COOKIE = "parley_lang"

# The navigation: path, the page's name (a message id), and the action it needs to be shown.
NAVIGATION: tuple[tuple[str, str, Action], ...] = (
    ("/", i18n.N_("Dashboard"), Action.READ),
    ("/compose", i18n.N_("Compose"), Action.NOTIFY),
    ("/pending", i18n.N_("Pending releases"), Action.READ),
    ("/hotline", i18n.N_("Hotline"), Action.READ),
    ("/inquiries", i18n.N_("Inquiries"), Action.READ),
    ("/peers", i18n.N_("Peers"), Action.READ),
    ("/compliance", i18n.N_("Compliance"), Action.READ),
    ("/log", i18n.N_("Log"), Action.READ),
    ("/settings", i18n.N_("Settings"), Action.READ),
)
# Pages whose frame needs only its reader, at ``/<name>``: the template and the action it needs.
FRAMES: dict[str, tuple[str, Action]] = {
    "settings": ("settings.html", Action.READ),
    "compose": ("compose.html", Action.NOTIFY),  # ?update=REF, ?cancel=REF: the page's script
    "pending": ("pending.html", Action.READ),
    "peers": ("peers.html", Action.READ),
    "compliance": ("compliance.html", Action.READ),
    "log": ("log.html", Action.READ),
    "hotline": ("hotline.html", Action.READ),
    "inquiries": ("inquiries.html", Action.READ),
}


@dataclass(frozen=True)
class Reader:
    """The officer behind a page request, with the session's CSRF token and their language."""

    principal: Principal
    csrf: str
    settings: Settings

    @property
    def lang(self) -> str:
        """The officer's language."""
        return self.settings.lang


def _environment(lang: str) -> Environment:
    """The templates in ``lang``: one environment per language, its catalogue installed."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(("html",)),
        extensions=("jinja2.ext.i18n",),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    translations = i18n.translations(lang)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        translations.gettext, translations.ngettext, newstyle=True
    )
    return env


def create(node: Node) -> FastAPI:
    """The pages of ``node``, to mount at ``/`` after every other route."""
    pages = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    envs = {lang: _environment(lang) for lang in i18n.LANGS}
    pages.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def render(
        request: Request, template: str, lang: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        page = (
            envs[lang]
            .get_template(template)
            .render(
                lang=lang,
                html_lang=i18n.HTML_LANG[lang],
                cap_labels=i18n.cap_labels(lang),
                langs=i18n.NAMES,
                party=node.party,
                request_path=request.url.path,
                **context,
            )
        )
        return HTMLResponse(page, status_code=status)

    def reader(request: Request) -> Reader | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        try:
            resolved = sessions.resolve(node.store, cookie, now_ms())
        except NotAuthenticatedError:
            return None
        mine = officer_settings.settings_of(node.store, resolved.principal.officer)
        return Reader(resolved.principal, resolved.csrf, mine)

    def to_login(request: Request) -> Response:
        target = quote(request.url.path, safe="/:")
        return RedirectResponse(f"/login?next={target}", status_code=303)

    def page(
        request: Request, who: Reader, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        navigation = [
            (path, name) for path, name, action in NAVIGATION if action in who.principal.actions
        ]
        categories = _categories(who.lang)
        return render(
            request,
            template,
            who.lang,
            status,
            categories=categories,
            categories_by_code=dict(categories),
            officer=who.principal.officer,
            role=who.principal.role,
            csrf=who.csrf,
            zone=who.settings.time_zone,
            settings=who.settings,
            actions=sorted(a.value for a in who.principal.actions),
            navigation=navigation,
            **context,
        )

    @pages.get("/login", response_class=HTMLResponse)
    def login(request: Request, lang: str | None = None, next: str = "/") -> Response:  # noqa: A002
        """The login form: name, password and TOTP code."""
        chosen = i18n.chosen(
            lang, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
        )
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        return render(request, "login.html", chosen, next_page=target)

    @pages.get("/", response_class=HTMLResponse)
    def dashboard(request: Request) -> Response:
        """The regional picture: map, live list, timeline, filters."""
        who = reader(request)
        if who is None:
            return to_login(request)
        return page(request, who, "dashboard.html")

    def notification_page(request: Request, ref: str, template: str) -> Response:
        who = reader(request)
        if who is None:
            return to_login(request)
        try:
            party, seq = parse_ref(ref.upper())
        except InvalidEntryError:
            return page(request, who, "missing.html", ref=ref[:40])
        return page(request, who, template, ref=f"{party}:{seq}")

    @pages.get("/notifications/{ref}", response_class=HTMLResponse)
    def notification(request: Request, ref: str) -> Response:
        """One notification: message, areas, lifecycle, receipt matrix, acknowledgement."""
        return notification_page(request, ref, "notification.html")

    @pages.get("/notifications/{ref}/print", response_class=HTMLResponse)
    def notification_print(request: Request, ref: str) -> Response:
        """One notification on A4 paper: message, facts, areas' map, receipts, lifecycle."""
        return notification_page(request, ref, "print.html")

    @pages.get("/{name}", response_class=HTMLResponse)
    def frame(request: Request, name: str) -> Response:
        """A page of ``FRAMES``: settings, hotline, peers, ..."""
        found = FRAMES.get(name)
        if found is None:  # as every path no route takes: a problem document, no page
            raise HTTPException(status_code=404)
        who = reader(request)
        if who is None:
            return to_login(request)
        template, action = found
        if action not in who.principal.actions:
            return page(request, who, "forbidden.html", status=403)
        return page(request, who, template)

    pages.add_middleware(PageHeaders)
    return pages


def _categories(lang: str) -> list[tuple[str, str]]:
    """Every category code with its title in ``lang``, by title."""
    gettext = i18n.translations(lang).gettext
    return sorted(((c.code, gettext(c.title)) for c in CATEGORIES.values()), key=lambda p: p[1])
