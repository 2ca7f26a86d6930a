"""The HTTP server: Mastra's REST API, the OpenAI Chat Completions API, a WebSocket per agent,
health, metrics and OpenAPI, on aiohttp.web.

>>> app = create_app(mastra, auth=ApiKeyAuth(["sk-..."]))
>>> web.run_app(app)            # or: mastra serve myapp:mastra --port 4111

Names load on first use, so ``mastra.server.cli`` (the ``mastra`` command) stays light.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mastra.server.app import create_app
    from mastra.server.auth import ApiKeyAuth, Auth, JWTAuth
    from mastra.server.serve import serve

__all__ = ["ApiKeyAuth", "Auth", "JWTAuth", "create_app", "serve"]

_LAZY = {
    "create_app": "mastra.server.app",
    "ApiKeyAuth": "mastra.server.auth",
    "Auth": "mastra.server.auth",
    "JWTAuth": "mastra.server.auth",
    "serve": "mastra.server.serve",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mastra.server' has no attribute {name!r}")
    return getattr(import_module(module), name)
