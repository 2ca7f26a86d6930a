"""The ``mastra`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import orjson

from mastra.errors import MastraError


def _info(args: argparse.Namespace) -> int:
    from mastra import native_info

    info = native_info()
    if args.json:
        print(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode())
        return 0
    width = max(map(len, info))
    for key, value in info.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "(none yet)"
        elif isinstance(value, list):
            value = " ".join(value)
        print(f"{key:<{width}}  {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from mastra import __version__

    parser = argparse.ArgumentParser(prog="mastra", description="Mastra.py command line.")
    parser.add_argument("--version", action="version", version=f"mastra {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = commands.add_parser("info", help="version, build and SIMD dispatch of the kernels")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(run=_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mastra`` console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except MastraError as exc:
        print(f"mastra: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
