"""``mastra serve``, ``mastra dev`` and ``mastra init``."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any

from mastra.errors import ConfigError

__all__ = ["add_commands"]


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="serve a Mastra app over HTTP")
    _server_options(serve)
    serve.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    serve.add_argument("--grace", type=float, default=30.0, help="seconds to finish on SIGTERM")
    serve.set_defaults(run=_serve)
    dev = commands.add_parser("dev", help="serve and restart when a .py file changes")
    _server_options(dev)
    dev.add_argument("--watch", default=".", help="the folder to watch (default: here)")
    dev.add_argument("--open", action="store_true", help="open the Studio in a browser")
    dev.set_defaults(run=_dev)
    init = commands.add_parser("init", help="create a runnable Mastra.py project")
    init.add_argument("directory", help="where (must be empty or not exist)")
    init.set_defaults(run=_init)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", metavar="MODULE:ATTR", help="the Mastra to serve, e.g. app:mastra")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4111)
    parser.add_argument("--prefix", default="/api", help="where Mastra's REST routes live")
    parser.add_argument("--api-key", action="append", default=[], help="require this API key")


def _app_options(args: argparse.Namespace) -> dict[str, Any]:
    from mastra.server.auth import ApiKeyAuth

    keys = list(args.api_key) + [k for k in os.environ.get("MASTRA_API_KEYS", "").split(",") if k]
    return {"prefix": args.prefix, "auth": ApiKeyAuth(keys) if keys else None}


def _serve(args: argparse.Namespace) -> int:
    from mastra.server.serve import serve

    serve(
        args.app,
        host=args.host,
        port=args.port,
        workers=args.workers,
        grace=args.grace,
        **_app_options(args),
    )
    return 0


def _dev(args: argparse.Namespace) -> int:
    """Run ``mastra serve`` in a child process; restart it when a .py file under ``--watch``
    changes (polled twice a second: no extra dependency)."""
    folder = Path(args.watch)
    command = [sys.executable, "-m", "mastra.cli", "serve", args.app, "--host", args.host]
    command += ["--port", str(args.port), "--prefix", args.prefix, "--grace", "2"]
    for key in args.api_key:
        command += ["--api-key", key]
    seen = _mtimes(folder)
    child = subprocess.Popen(command)
    url = _studio_url(args.host, args.port)
    print(f"mastra dev: Studio at {url} (REST under {url.rstrip('/')}{args.prefix})", flush=True)
    if args.open:
        threading.Thread(target=_open_when_up, args=(url, args.port), daemon=True).start()
    signal.signal(signal.SIGTERM, _interrupt)  # so the child is stopped too
    try:
        while True:
            time.sleep(0.5)
            now = _mtimes(folder)
            if now != seen:
                seen = now
                print("mastra dev: a file changed; restarting", file=sys.stderr)
                child.terminate()
                child.wait(10)
                child = subprocess.Popen(command)
    except KeyboardInterrupt:
        return 0
    finally:
        child.terminate()
        child.wait(10)


def _studio_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches the server (a wildcard host is loopback)."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _open_when_up(url: str, port: int, wait: float = 30.0) -> None:
    """Open ``url`` in the default browser once the server accepts connections."""
    deadline = time.monotonic() + wait
    host = url.split("//")[1].rsplit(":", 1)[0].strip("[]")
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
        except OSError:
            time.sleep(0.2)
            continue
        webbrowser.open(url)
        return


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _mtimes(folder: Path) -> dict[str, float]:
    seen = {}
    for path in folder.rglob("*.py"):
        if ".venv" in path.parts or "__pycache__" in path.parts:
            continue
        with contextlib.suppress(FileNotFoundError):  # removed while we looked
            seen[str(path)] = path.stat().st_mtime
    return seen


def _init(args: argparse.Namespace) -> int:
    from mastra.server.scaffold import scaffold

    target = Path(args.directory)
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"{target} is not empty; choose a new folder")
    for path in scaffold(target):
        print(f"created {path}")
    print(f"\nnext: cd {target} && python -m pytest && mastra serve app:mastra")
    return 0
