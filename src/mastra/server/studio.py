"""The Studio web UI: static files shipped in ``mastra/server/studio/`` (HTML, CSS and JS ES
modules; no CDN, nothing fetched at run time), served at ``/`` when they are installed. The
page learns where the REST routes live from the ``mastra-prefix`` meta tag filled in here."""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

from aiohttp import web

from mastra.server.state import STATE

__all__ = ["STUDIO", "add_studio", "is_studio_file"]

STUDIO = Path(str(resources.files("mastra.server"))) / "studio"
SERVED: web.AppKey[bool] = web.AppKey("studio_served")
_PREFIX_MARK = "__MASTRA_PREFIX__"


def is_studio_file(app: web.Application, path: str) -> bool:
    """The Studio's page and files need no credentials (they hold no data; the API calls
    the page makes do, and it asks for the key on a 401)."""
    return app.get(SERVED, False) and (path == "/" or path.startswith("/studio/"))


def add_studio(app: web.Application) -> bool:
    """Serve the Studio at ``/`` (its files at ``/studio/...``); False when it is not there."""
    index = STUDIO / "index.html"
    if not index.is_file():
        return False
    page = index.read_text(encoding="utf-8").replace(
        _PREFIX_MARK, html.escape(app[STATE].prefix, quote=True)
    )

    async def studio_page(request: web.Request) -> web.Response:
        return web.Response(
            text=page, content_type="text/html", headers={"Cache-Control": "no-cache"}
        )

    app.router.add_get("/", studio_page)
    app.router.add_static("/studio/", STUDIO, show_index=False)
    app[SERVED] = True
    return True
