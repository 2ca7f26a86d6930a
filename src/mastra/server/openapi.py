"""``/openapi.json``: an OpenAPI 3.1 document of the application's routes — each route's path
parameters, its summary (the handler's docstring), and the JSON Schema of its body from the
msgspec type the handler decodes."""

from __future__ import annotations

import inspect
import re
from typing import Any

import msgspec
from aiohttp import web

import mastra

__all__ = ["openapi"]

_PARAM = re.compile(r"\{(\w+)\}")
_ERROR = {
    "description": "an error",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
                        "required": ["type", "message"],
                    }
                },
            }
        }
    },
}


def _operation(handler: Any, path: str) -> tuple[dict[str, Any], type | None]:
    doc = inspect.getdoc(handler) or handler.__name__.replace("_", " ")
    operation: dict[str, Any] = {
        "operationId": handler.__name__,
        "summary": doc.split("\n")[0],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(path)
        ],
        "responses": {
            "200": {"description": "success"},
            "400": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
            "500": {"$ref": "#/components/responses/Error"},
        },
    }
    kind = getattr(handler, "__body__", None)
    return operation, kind


def openapi(app: web.Application) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    bodies: dict[str, tuple[dict[str, Any], type]] = {}
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method in ("HEAD", "OPTIONS", "*"):
            continue
        path = resource.canonical
        operation, kind = _operation(route.handler, path)
        if kind is not None:
            bodies[path + " " + route.method] = (operation, kind)
        paths.setdefault(path, {})[route.method.lower()] = operation
    kinds = sorted({k for _, k in bodies.values()}, key=lambda k: k.__name__)
    schemas, components = msgspec.json.schema_components(
        kinds, ref_template="#/components/schemas/{name}"
    )
    for operation, kind in bodies.values():
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas[kinds.index(kind)]}},
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mastra.py server", "version": mastra.__version__},
        "paths": paths,
        "components": {"schemas": components, "responses": {"Error": _ERROR}},
    }
