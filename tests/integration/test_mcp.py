"""`petri mcp`: the Model Context Protocol server of the CLI, driven by the
official MCP TypeScript SDK's client (tests/mcp/client.mjs) and, for the
protocol's edges, by raw JSON-RPC lines."""
import json
import os
import shutil
import subprocess
import tempfile

from harness import BUILD, check

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MCP_DIR = os.path.join(ROOT, "tests", "mcp")


def _env(p, **extra):
    env = dict(os.environ, PETRI_URL="http://127.0.0.1:%d" % p.port, PETRI_API_KEY=p.token)
    env.update(extra)
    return env


def test_mcp_sdk_client(p):
    node = shutil.which("node")
    check(node is not None, "node is not installed (tests/setup-test-deps.sh)")
    check(os.path.isdir(os.path.join(MCP_DIR, "node_modules", "@modelcontextprotocol", "sdk")),
          "tests/mcp/node_modules missing: run tests/setup-test-deps.sh")
    with tempfile.TemporaryDirectory() as root:
        r = subprocess.run([node, os.path.join(MCP_DIR, "client.mjs")], capture_output=True,
                           timeout=900, cwd=MCP_DIR,
                           env=_env(p, PETRI_BIN=os.path.join(BUILD, "petri"),
                                    PETRI_MCP_ROOT=root))
    lines = [l for l in r.stdout.decode().splitlines() if l.startswith("{")]
    check(lines, "no report from the client: %r" % r)
    rep = json.loads(lines[-1])
    check(r.returncode == 0 and not rep["failed"] and len(rep["passed"]) == 11,
          json.dumps(rep, indent=1) + r.stderr.decode()[-2000:])


def _session(p, lines, **env):
    data = b"".join((l if isinstance(l, bytes) else json.dumps(l).encode()) + b"\n"
                    for l in lines)
    r = subprocess.run([os.path.join(BUILD, "petri"), "mcp"], input=data, capture_output=True,
                       timeout=60, env=_env(p, **env))
    check(r.returncode == 0, r)
    return [json.loads(l) for l in r.stdout.decode().splitlines()]


def _init(version, id_=1):
    return {"jsonrpc": "2.0", "id": id_, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {},
                       "clientInfo": {"name": "raw", "version": "0"}}}


def test_mcp_protocol_edges(p):
    before = {"jsonrpc": "2.0", "id": 0, "method": "tools/list"}
    out = _session(p, [before, _init("2024-11-05"),
                       {"jsonrpc": "2.0", "method": "notifications/initialized"},
                       {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                       {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                        "params": {"name": "list_sandboxes", "arguments": {}}}])
    check(out[0]["id"] == 0 and out[0]["error"]["code"] == -32600, out[0])
    check(out[1]["result"]["protocolVersion"] == "2024-11-05", out[1])
    # an older revision: no outputSchema, no structuredContent
    check(all("outputSchema" not in t for t in out[2]["result"]["tools"]), out[2])
    check("structuredContent" not in out[3]["result"] and
          json.loads(out[3]["result"]["content"][0]["text"])["count"] >= 0, out[3])
    check(len(out) == 4, "a notification is never answered: %r" % out)

    # an unknown revision is answered with the newest one
    out = _session(p, [_init("1999-01-01")])
    check(out[0]["result"]["protocolVersion"] == "2025-11-25", out)

    bad = [b"{not json", b"[]", b'{"jsonrpc": "1.0", "id": 5, "method": "ping"}',
           b'{"jsonrpc": "2.0", "id": 6, "method": "ping", "extra": 1}',
           b'{"jsonrpc": "2.0", "id": 7, "id": 8, "method": "ping"}',
           b'{"jsonrpc": "2.0", "id": 1.5, "method": "ping"}',
           b'{"jsonrpc": "2.0", "id": 9, "method": "ping", "params": [1]}',
           b'{"jsonrpc": "2.0", "id": 10, "method": 3}',
           b'{"jsonrpc": "2.0", "id": "a\\u0000b", "method": "ping"}',
           b'"just a string"',
           b'{"jsonrpc": "2.0", "id": 11, "method": "' + b"m" * 200 + b'"}',
           b"x" * (9 << 20)]
    out = _session(p, [_init("2025-11-25")] + bad +
                   [{"jsonrpc": "2.0", "id": 12, "method": "ping"},
                    {"jsonrpc": "2.0", "id": 13, "method": "no/such"},
                    {"jsonrpc": "2.0", "id": 14, "method": "tools/call",
                     "params": {"name": "nope", "arguments": {}}},
                    {"jsonrpc": "2.0", "id": 15, "method": "tools/call",
                     "params": {"name": "delete_sandbox", "arguments": {"sandbox_id": "../x"}}},
                    {"jsonrpc": "2.0", "id": 16, "result": {}}])
    errs = out[1:1 + len(bad)]
    check(len(errs) == len(bad) and all("error" in e for e in errs), errs)
    want = [-32700, -32600, -32600, -32600, -32700, -32600, -32600, -32600, -32700, -32700,
            -32600, -32600]
    check([e["error"]["code"] for e in errs] == want, errs)
    check("limit" in errs[-1]["error"]["message"] and errs[2]["id"] == 5, errs)
    rest = out[1 + len(bad):]
    check(rest[0] == {"jsonrpc": "2.0", "id": 12, "result": {}}, rest[0])
    check(rest[1]["error"]["code"] == -32601 and rest[2]["error"]["code"] == -32602, rest)
    check(rest[3]["result"]["isError"] is True and "sandbox id" in
          rest[3]["result"]["content"][0]["text"], rest[3])
    check(len(rest) == 4, "a response from the client is not answered: %r" % rest)
