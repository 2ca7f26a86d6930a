"""How to reach an MCP server: a command to start (stdio) or a URL (Streamable HTTP)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from mastra.errors import ValidationError

__all__ = ["DEFAULT_TIMEOUT", "HttpServer", "ServerSpec", "StdioServer"]

DEFAULT_TIMEOUT = 60.0


def _check_timeout(owner: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(
            f"{owner}.timeout must be a positive number of seconds, got {value!r}"
        )


class StdioServer(msgspec.Struct, frozen=True):
    """A server started as a child process that speaks MCP on its stdin and stdout.

    Args:
        command: the executable (``"npx"``, ``sys.executable`` ...).
        args: its arguments.
        env: variables added to the small default environment the MCP SDK gives servers
            (``PATH``, ``HOME``, ``USER`` ...); nothing else of ours is passed on.
        cwd: the folder to start it in (default: ours).
        timeout: seconds to wait for any answer (the handshake, a list, a tool call) before
            the request fails; ``MCPClient.call_tool(..., timeout=)`` overrides it per call.
    """

    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] | None = None
    cwd: str | Path | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if not isinstance(self.command, str) or not self.command:
            raise ValidationError(f"StdioServer needs a command to run, got {self.command!r}")
        if isinstance(self.args, str) or not all(isinstance(a, str) for a in self.args):
            raise ValidationError(
                f"StdioServer args must be a sequence of strings, got {self.args!r}"
            )
        if self.env is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.env.items()
        ):
            raise ValidationError("StdioServer env must map strings to strings")
        _check_timeout("StdioServer", self.timeout)

    def __repr__(self) -> str:  # env values may be credentials
        env = "" if not self.env else f", env=<{len(self.env)} hidden>"
        args = list(self.args)
        return f"StdioServer({self.command!r}, args={args!r}{env}, timeout={self.timeout!r})"


class HttpServer(msgspec.Struct, frozen=True):
    """A server reached over MCP's Streamable HTTP transport.

    Args:
        url: its MCP endpoint, e.g. ``http://127.0.0.1:4111/api/mcp/docs/mcp``.
        headers: sent with every request (``{"Authorization": "Bearer ..."}``).
        timeout: seconds to wait for any answer before the request fails.
    """

    url: str
    headers: dict[str, str] | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("http://", "https://")):
            raise ValidationError(f"HttpServer needs an http:// or https:// URL, got {self.url!r}")
        if self.headers is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.headers.items()
        ):
            raise ValidationError("HttpServer headers must map strings to strings")
        _check_timeout("HttpServer", self.timeout)

    def __repr__(self) -> str:  # header values may be credentials
        hidden = "" if not self.headers else f", headers=<{len(self.headers)} hidden>"
        return f"HttpServer({self.url!r}{hidden}, timeout={self.timeout!r})"


ServerSpec = StdioServer | HttpServer
