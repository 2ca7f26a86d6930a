"""The servers benches/test_server.py loads, each run in its own process:

- ``mastra_app``: our server (``python -m mastra.cli serve server_peers.mastra_app:mastra``),
- ``agno_os``: agno's AgentOS (FastAPI + uvicorn) on an agno agent with an instant model,
- ``floor``: a bare aiohttp app answering with bytes recorded from our server.

Every agent answers the same: ``ANSWER`` for a generate, ``LONG_ANSWER`` (``STREAM_TOKENS``
words, streamed one word per chunk) on the ``long`` agent; the ``hold`` agent never answers,
which keeps its streams open until the client goes away.
"""

STREAM_TOKENS = 500
ANSWER = "The sum is 3."
LONG_ANSWER = " ".join(f"w{i}" for i in range(STREAM_TOKENS))
AGENTS = {"bench": ANSWER, "long": LONG_ANSWER}
HOLD = "hold"
