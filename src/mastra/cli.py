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


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from mastra.demo import DEFAULT_PROMPT, run_demo

    return asyncio.run(run_demo(args.prompt or DEFAULT_PROMPT, args.model))


DEMO_HELP = """Run a small real agent end to end: two tools (a calculator and a planet fact
table shipped with the package), its answer streamed to the terminal with every tool call,
step, token count and timing.

The model comes from --model or the MASTRA_MODEL environment variable, e.g.
  MASTRA_MODEL=openai/gpt-4o-mini          (with OPENAI_API_KEY)
  MASTRA_MODEL=anthropic/claude-sonnet-4-6 (with ANTHROPIC_API_KEY)
  MASTRA_MODEL=ollama/llama3.2             (a local Ollama, no key)
With neither, the same agent runs offline on a scripted stand-in model and says so: the tools
run for real, the choice of tools and the wording are scripted (arithmetic and questions that
name a planet work; --prompt "What is 2+2?")."""


def build_parser() -> argparse.ArgumentParser:
    from mastra import __version__

    parser = argparse.ArgumentParser(prog="mastra", description="Mastra.py command line.")
    parser.add_argument("--version", action="version", version=f"mastra {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = commands.add_parser("info", help="version, build and SIMD dispatch of the kernels")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(run=_info)
    demo = commands.add_parser(
        "demo",
        help="run a small agent end to end (offline if no model)",
        description=DEMO_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--model", help="provider/model (default: $MASTRA_MODEL, else a scripted stand-in)"
    )
    demo.add_argument(
        "--prompt", help="the question to ask (default: one about Jupiter's mass and moons)"
    )
    demo.set_defaults(run=_demo)
    from mastra.commands import evals, mcp, rag, worker
    from mastra.server.cli import add_commands as server_commands

    server_commands(commands)
    worker.add_commands(commands)
    rag.add_commands(commands)
    evals.add_commands(commands)
    mcp.add_commands(commands)
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
