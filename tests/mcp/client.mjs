// Drives `petri mcp` with the official MCP TypeScript SDK's client: spawns
// it over stdio, lists the tools and calls each one against a real petrid.
// The SDK checks every structuredContent against the tool's outputSchema.
//
//   PETRI_URL=... PETRI_API_KEY=... PETRI_BIN=build/petri \
//     PETRI_MCP_ROOT=/some/dir node tests/mcp/client.mjs
//
// Prints one JSON line {"passed": [...], "failed": [...]}; exits 1 when
// anything failed.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import fs from "node:fs";
import path from "node:path";

const passed = [];
const failed = [];
const LONG = { timeout: 300000 };

function check(cond, what, detail) {
  if (!cond) throw new Error(what + (detail !== undefined ? ": " + JSON.stringify(detail).slice(0, 800) : ""));
}

async function step(name, fn) {
  try {
    await fn();
    passed.push(name);
  } catch (e) {
    failed.push({ name, error: String(e && e.stack ? e.stack : e).slice(0, 2000) });
  }
}

const root = process.env.PETRI_MCP_ROOT;
const transport = new StdioClientTransport({
  command: process.env.PETRI_BIN,
  args: ["mcp"],
  env: {
    PETRI_URL: process.env.PETRI_URL,
    PETRI_API_KEY: process.env.PETRI_API_KEY,
    PETRI_MCP_ROOT: root,
    PATH: process.env.PATH,
  },
  stderr: "inherit",
});
const client = new Client({ name: "petri-mcp-test", version: "1.0.0" });

async function call(name, args, opts) {
  const r = await client.callTool({ name, arguments: args }, undefined, opts);
  return r;
}

function ok(r, what) {
  check(r.isError !== true, what + " failed", r.content);
  check(r.structuredContent && typeof r.structuredContent === "object", what + " has no structuredContent", r);
  check(Array.isArray(r.content) && r.content[0].type === "text", what + " has no text content", r);
  check(JSON.stringify(JSON.parse(r.content[0].text)) !== undefined, what + " text is JSON");
  return r.structuredContent;
}

let sb = null;
try {
  await client.connect(transport);
} catch (e) {
  console.log(JSON.stringify({ passed, failed: [{ name: "connect", error: String(e) }] }));
  process.exit(1);
}

await step("initialize", async () => {
  const info = client.getServerVersion();
  check(info && info.name === "petri", "serverInfo", info);
  check(client.getServerCapabilities().tools !== undefined, "tools capability");
  check(transport && LATEST_PROTOCOL_VERSION, "protocol");
  await client.ping();
});

await step("tools/list", async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  const want = ["create_sandbox", "delete_sandbox", "list_files", "list_sandboxes", "read_file",
    "run_code", "run_command", "run_tests", "upload_project", "write_file"];
  check(JSON.stringify(names) === JSON.stringify(want), "tool names", names);
  for (const t of tools) {
    check(t.inputSchema && t.inputSchema.type === "object", t.name + " inputSchema");
    check(t.outputSchema && t.outputSchema.type === "object", t.name + " outputSchema");
    check(t.inputSchema.additionalProperties === false, t.name + " strict input");
  }
});

await step("create_sandbox", async () => {
  const s = ok(await call("create_sandbox", { language: "python", labels: { via: "mcp" } }, LONG), "create");
  check(typeof s.sandbox_id === "string" && s.sandbox_id.startsWith("sb_"), "sandbox id", s);
  sb = s.sandbox_id;
});

await step("list_sandboxes", async () => {
  const s = ok(await call("list_sandboxes", {}), "list");
  check(s.sandboxes.some((x) => x.id === sb), "listed", s);
  check(s.count === s.sandboxes.length, "count");
});

await step("write_file/read_file/list_files", async () => {
  const w = ok(await call("write_file", { sandbox_id: sb, path: "src/hello.py", content: "print('héllo')\n" }), "write");
  check(w.size === Buffer.byteLength("print('héllo')\n") && w.sha256.length === 64, "size", w);
  check(Number.isInteger(w.audit_seq) && w.audit_seq > 0, "write audit seq", w);
  const r = ok(await call("read_file", { sandbox_id: sb, path: "src/hello.py" }), "read");
  check(r.content === "print('héllo')\n" && r.encoding === "utf-8" && r.truncated === false, "read back", r);
  const part = ok(await call("read_file", { sandbox_id: sb, path: "src/hello.py", max_bytes: 4 }), "read part");
  check(part.content === "prin" && part.truncated === true, "read truncated", part);
  const l = ok(await call("list_files", { sandbox_id: sb }), "list files");
  check(l.files.some((f) => f.path === "src/hello.py" && f.type === "file"), "listed file", l);
  const miss = await call("read_file", { sandbox_id: sb, path: "nope.txt" });
  check(miss.isError === true && /404/.test(miss.content[0].text), "missing file is a tool error", miss);
});

await step("run_code", async () => {
  const s = ok(await call("run_code", { sandbox_id: sb, code: "import sys\nprint(6*7)\nsys.exit(4)\n",
    prompt: "compute the answer", model: "test/model-1" }, LONG), "run_code");
  check(s.exit_code === 4 && s.output.includes("42") && s.truncated === false, "run_code result", s);
  check(Number.isInteger(s.audit_seq) && s.audit_seq > 0, "audit seq", s);
});

await step("run_command", async () => {
  const s = ok(await call("run_command", { sandbox_id: sb, command: "python3 src/hello.py; echo err >&2" }, LONG), "run_command");
  check(s.exit_code === 0 && s.stdout === "héllo\n" && s.stderr === "err\n", "run_command result", s);
  const big = ok(await call("run_command", { sandbox_id: sb, command: "head -c 300000 /dev/zero | tr '\\0' a" }, LONG), "big");
  check(big.truncated === true && big.output.length <= 65536 && big.output.length > 60000, "bounded output", big.output.length);
});

await step("upload_project", async () => {
  const dir = fs.mkdtempSync(path.join(root, "proj-"));
  fs.mkdirSync(path.join(dir, "pkg"));
  fs.writeFileSync(path.join(dir, "app.py"), "from pkg import m\nprint(m.V)\n");
  fs.writeFileSync(path.join(dir, "pkg", "__init__.py"), "");
  fs.writeFileSync(path.join(dir, "pkg", "m.py"), "V = 'synced'\n");
  fs.writeFileSync(path.join(dir, "test_app.py"),
    "import unittest\nfrom pkg import m\nclass T(unittest.TestCase):\n    def test_v(self):\n        self.assertEqual(m.V, 'synced')\n");
  const a = ok(await call("upload_project", { sandbox_id: sb, directory: dir, to: "proj" }, LONG), "upload");
  check(a.uploaded === 4 && a.unchanged === 0 && Number.isInteger(a.audit_seq), "first upload", a);
  const b = ok(await call("upload_project", { sandbox_id: sb, directory: dir, to: "proj" }, LONG), "again");
  check(b.uploaded === 0 && b.unchanged === 4, "second upload sends nothing", b);
  const run = ok(await call("run_command", { sandbox_id: sb, command: "python3 -B app.py", cwd: "proj" }, LONG), "run");
  check(run.stdout === "synced\n", "synced code runs", run);
  const out = await call("upload_project", { sandbox_id: sb, directory: "/etc" });
  check(out.isError === true && /outside/.test(out.content[0].text), "outside the root refused", out);
  fs.rmSync(dir, { recursive: true, force: true });
});

await step("run_tests", async () => {
  const s = ok(await call("run_tests", { sandbox_id: sb, cwd: "proj", prompt: "run the tests" }, LONG), "run_tests");
  check(s.test && s.test.passed >= 1 && s.test.failed === 0, "test counts", s.test);
  check(s.exit_code === 0 && Number.isInteger(s.audit_seq), "tests exit", s);
});

await step("errors", async () => {
  const bad = await call("run_code", { sandbox_id: sb });
  check(bad.isError === true && /code is required/.test(bad.content[0].text), "missing argument", bad);
  const extra = await call("run_code", { sandbox_id: sb, code: "1", bogus: 1 });
  check(extra.isError === true && /unknown argument/.test(extra.content[0].text), "unknown argument", extra);
  const typ = await call("run_code", { sandbox_id: sb, code: 5 });
  check(typ.isError === true, "wrong type", typ);
  const nosb = await call("run_code", { sandbox_id: "sb_aaaaaaaaaaaaaaaaaaaaaaaa", code: "1" });
  check(nosb.isError === true && /404/.test(nosb.content[0].text), "no such sandbox", nosb);
  let threw = false;
  try {
    await client.callTool({ name: "no_such_tool", arguments: {} });
  } catch (e) {
    threw = e.code === -32602;
  }
  check(threw, "unknown tool is a JSON-RPC error");
});

await step("delete_sandbox", async () => {
  const s = ok(await call("delete_sandbox", { sandbox_id: sb }, LONG), "delete");
  check(s.deleted === true, "deleted", s);
  const l = ok(await call("list_sandboxes", {}), "list after");
  check(!l.sandboxes.some((x) => x.id === sb), "gone", l);
  sb = null;
});

if (sb !== null) {
  try { await call("delete_sandbox", { sandbox_id: sb }, LONG); } catch (e) { /* reported above */ }
}
await client.close();
console.log(JSON.stringify({ passed, failed }));
process.exit(failed.length === 0 ? 0 : 1);
