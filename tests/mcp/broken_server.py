"""A stdio "MCP server" that breaks the protocol on purpose, written by hand (the SDK would
not let us send malformed messages). It answers the handshake properly, then per tool:

- ``noise``: a line that is not JSON, then a valid result ("ok");
- ``bad_shape``: a result whose ``content`` is not a list;
- ``silent``: only a line that is not JSON, never an answer;
- ``crash``: writes to stderr and exits with status 3.
"""

import json
import sys

TOOLS = ["noise", "bad_shape", "silent", "crash"]


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def answer(request):
    method, ident = request.get("method"), request.get("id")
    if method == "initialize":
        return {
            "protocolVersion": request["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "broken", "version": "0"},
        }
    if method == "tools/list":
        schema = {"type": "object", "properties": {}}
        return {"tools": [{"name": name, "inputSchema": schema} for name in TOOLS]}
    if method != "tools/call":
        send({"jsonrpc": "2.0", "id": ident, "error": {"code": -32601, "message": method}})
        return None
    name = request["params"]["name"]
    if name == "noise":
        sys.stdout.write("this is not JSON-RPC\n")
        return {"content": [{"type": "text", "text": "ok"}]}
    if name == "bad_shape":
        return {"content": "not a list"}
    if name == "silent":
        sys.stdout.write("{garbled\n")
        sys.stdout.flush()
        return None
    print("fatal: the broken server gave up", file=sys.stderr, flush=True)
    sys.exit(3)


for line in sys.stdin:
    request = json.loads(line)
    if "id" not in request:  # a notification
        continue
    result = answer(request)
    if result is not None:
        send({"jsonrpc": "2.0", "id": request["id"], "result": result})
