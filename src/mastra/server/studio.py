"""The Studio web UI: static files shipped in ``mastra/server/studio/`` (no CDN, nothing
fetched at run time), served at ``/`` when they are installed."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

__all__ = ["STUDIO", "add_studio"]

STUDIO = Path(str(resources.files("mastra.server"))) / "studio"


def add_studio(app: web.Application) -> bool:
    """Serve the Studio at ``/`` (its files at ``/studio/...``); False when it is not there."""
    index = STUDIO / "index.html"
    if not index.is_file():
        return False

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(index)

    app.router.add_get("/", page)
    app.router.add_static("/studio/", STUDIO, show_index=False)
    return True
