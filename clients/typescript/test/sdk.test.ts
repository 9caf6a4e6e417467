/**
 * The TypeScript SDK against a real petrid: PETRI_URL and PETRI_API_KEY
 * (an admin key) name it.  Run by tests/integration/test_sdk_typescript.py.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import {
  Conflict, ConnectionFailed, Forbidden, Invalid, NotFound, Petri, PetriError, Sandbox,
  SyncConflict, Unauthorized, errorFromAnswer, parseSSE, tarPack,
} from "../src/index.js";

const url = process.env.PETRI_URL!;
const admin = new Petri();

function chunks(parts: string[]) {
  const enc = new TextEncoder();
  const bytes = parts.map((p) => enc.encode(p));
  let i = 0;
  return { read: async () => (i < bytes.length ? { done: false, value: bytes[i++] } : { done: true }) };
}

test("exec: output, exit code, stdin, env, cwd, argv, timeout, audit", async () => {
  let id = "";
  {
    await using sb = await Sandbox.create({ language: "node", labels: { sdk: "ts" }, env: { G: "hi" } });
    id = sb.id;
    assert.match(sb.id, /^sb_/);
    const r = await sb.exec({ code: "console.log('hello from isolation')" });
    assert.equal(r.output, "hello from isolation\n");
    assert.equal(r.exitCode, 0);
    assert.ok(r.audit && r.audit.seq > 0);
    const c = await sb.exec({ command: "echo out; echo err >&2; cat; echo $G $X; pwd; exit 3",
                              stdin: "piped\n", env: { X: "y" }, cwd: "/sandbox" });
    assert.equal(c.exitCode, 3);
    assert.equal(c.stdout, "out\npiped\nhi y\n/sandbox\n");
    assert.equal(c.stderr, "err\n");
    const a = await sb.exec({ argv: ["node", "-e", "console.log(JSON.stringify(process.argv.slice(1)))", "a b", "$c"] });
    assert.equal(a.stdout, '["a b","$c"]\n');
    assert.equal((await sb.exec({ command: "sleep 5", timeoutMs: 500 })).timedOut, true);
    const p = await sb.exec({ code: "console.log(1)", prompt: "ts prompt 91c", model: "test/ts" });
    const recs = await admin.audit.records({ fromSeq: Math.max(0, p.audit!.seq - 8), limit: 20 });
    const rec = recs.map((x) => JSON.parse(x.record)).find((x) => x.prompt?.text === "ts prompt 91c");
    assert.ok(rec && rec.model === "test/ts", "prompt and model recorded");
    assert.equal((await sb.execs())[0]!.id, p.id);
    const info = await sb.info();
    assert.deepEqual(info.labels, { sdk: "ts" });
    assert.deepEqual(info.env, ["G"]);
    assert.ok((await admin.sandboxes.list({ label: "sdk:ts" })).some((s) => s.id === sb.id));
    assert.ok((await sb.keepalive(900)) > info.createdAt);
    const again = await Sandbox.connect(sb.id);
    assert.equal((await again.exec({ command: "true" })).exitCode, 0);
  }
  await assert.rejects(admin.sandboxes.get(id), NotFound);
});

test("stream: events arrive while the program runs", async () => {
  await using sb = await Sandbox.create({ language: "node" });
  const seen: [number, string, string][] = [];
  let exit;
  for await (const ev of sb.stream({ command: "echo one; sleep 1.5; echo two >&2; exit 5" })) {
    seen.push([Date.now(), ev.event, ev.data]);
    if (ev.event === "exit") exit = ev.result;
  }
  const out = seen.filter((s) => s[1] !== "install");
  assert.deepEqual(out[0]!.slice(1), ["stdout", "one\n"]);
  assert.equal(out.at(-1)![1], "exit");
  assert.ok(out.at(-1)![0] - out[0]![0] > 1000, "the first chunk came before the end");
  assert.equal(out.filter((s) => s[1] === "stderr").map((s) => s[2]).join(""), "two\n");
  assert.equal(exit!.exitCode, 5);
  assert.equal(exit!.stdout, "");
  // leaving the loop early closes the stream
  for await (const ev of sb.stream({ code: "let i=0; setInterval(() => console.log(i++), 100)" })) {
    if (ev.event === "stdout") {
      assert.match(ev.data, /^0/);
      break;
    }
  }
});

test("background: stdin, kill, wait, stream", async () => {
  await using sb = await Sandbox.create({ language: "node" });
  const job = await sb.start({ command: "read line; echo got:$line; sleep 60" });
  assert.equal((await job.get()).status, "running");
  await job.write("hello\n");
  let r = await job.get();
  for (let i = 0; i < 100 && !r.stdout.includes("got:hello"); i++) {
    await new Promise((res) => setTimeout(res, 50));
    r = await job.get();
  }
  assert.equal(r.stdout, "got:hello\n");
  await job.kill();
  r = await job.wait({ timeoutMs: 30_000 });
  assert.equal(r.signal, "SIGKILL");
  const evs = [];
  for await (const ev of job.stream()) evs.push(ev);
  assert.deepEqual([evs[0]!.event, evs[0]!.data], ["stdout", "got:hello\n"]);
  assert.equal(evs.at(-1)!.result!.signal, "SIGKILL");
  await assert.rejects(job.kill(), (e: unknown) => e instanceof Conflict && e.status === 409);
  const cat = await sb.start({ command: "cat; echo done" });
  await cat.write("abc");
  await cat.closeStdin();
  assert.equal((await cat.wait({ timeoutMs: 30_000 })).stdout, "abcdone\n");
});

test("files: write, read, list, remove, path rules", async () => {
  await using sb = await Sandbox.create({ language: "node" });
  const e = await sb.files.write("dir/a.txt", "alpha\n");
  assert.equal(e.size, 6);
  assert.match(e.sha256!, /^[0-9a-f]{64}$/);
  await sb.files.write("dir/run.sh", "#!/bin/sh\necho ran\n", { mode: 0o755 });
  await sb.files.write("/sandbox/dir/sp ace.bin", new Uint8Array([0, 255]));
  assert.equal(await sb.files.readText("dir/a.txt"), "alpha\n");
  assert.deepEqual([...await sb.files.read("dir/sp ace.bin")], [0, 255]);
  assert.equal((await sb.exec({ command: "./dir/run.sh" })).stdout, "ran\n");
  assert.deepEqual((await sb.files.list("dir")).map((f) => f.path).sort(),
                   ["dir/a.txt", "dir/run.sh", "dir/sp ace.bin"]);
  const all = await sb.files.list(undefined, { recursive: true });
  assert.equal(all.find((f) => f.path === "dir")!.type, "dir");
  await sb.files.remove("dir/a.txt");
  await assert.rejects(sb.files.read("dir/a.txt"), NotFound);
  await sb.files.remove("dir/a.txt", { missingOk: true });
  await assert.rejects(sb.files.write(".petri/x", "x"), (err: unknown) =>
    err instanceof Invalid && err.status === 422 && err.code === "invalid_request");
  // refused before it is sent: a URL parser would turn it into another route
  await assert.rejects(sb.files.write("a/../../x", "x"), (err: unknown) =>
    err instanceof Invalid && err.status === 0);
});

test("upload: a directory and a file map by delta sync (or one archive), archives", async () => {
  const dir = mkdtempSync(join(tmpdir(), "petri-ts-"));
  try {
    for (let i = 0; i < 12; i++) {
      mkdirSync(join(dir, `pkg${i % 3}`), { recursive: true });
      writeFileSync(join(dir, `pkg${i % 3}`, `f${i}.js`), `module.exports = ${i};\n`);
    }
    mkdirSync(join(dir, "node_modules", "x"), { recursive: true });
    writeFileSync(join(dir, "node_modules", "x", "index.js"), "skipped");
    symlinkSync("/etc/passwd", join(dir, "link"));
    await using sb = await Sandbox.create({ language: "node" });
    const r = await sb.upload(dir);
    assert.equal(r.uploaded, 12);
    const names = (await sb.files.list(undefined, { recursive: true })).filter((f) => f.type === "file");
    assert.equal(names.length, 12);
    assert.equal((await sb.exec({ command: "cat pkg2/f5.js" })).stdout, "module.exports = 5;\n");
    await sb.files.write("extra.txt", "x");
    writeFileSync(join(dir, "pkg1", "f1.js"), "module.exports = 'changed';\n");
    const r2 = await sb.upload(dir, { delete: true });
    assert.equal(r2.method, r.method);
    if (r.method === "sync") {
      assert.deepEqual([r2.uploaded, r2.unchanged, r2.deleted], [1, 11, 1]);
      assert.ok(r2.bytes < r.bytes);
    }
    assert.equal((await sb.exec({ command: "cat pkg1/f1.js" })).stdout, "module.exports = 'changed';\n");
    assert.ok(!(await sb.files.list()).some((f) => f.path === "extra.txt"));
    const m = await sb.upload({ "a.js": "console.log('map')\n", "deep/b.txt": new Uint8Array([1]) },
                              { target: "sub" });
    assert.equal(m.uploaded, 2);
    assert.equal((await sb.exec({ filename: "sub/a.js" })).stdout, "map\n");
    const arc = tarPack([{ name: "top/app/t.js", data: new TextEncoder().encode("console.log('tar')\n") }]);
    const a = await sb.upload(arc, { strip: 1 });
    assert.equal(a.method, "archive");
    assert.deepEqual(a.files.map((f) => f.path), ["app/t.js"]);
    assert.equal((await sb.exec({ filename: "app/t.js" })).stdout, "tar\n");
    const evil = tarPack([{ name: "../escape", data: new Uint8Array([1]) }]);
    await assert.rejects(sb.upload(evil), Invalid);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("errors map to classes and keep the server's message", async () => {
  await assert.rejects(Sandbox.connect("sb_aaaaaaaaaaaaaaaaaaaaaaaa"), (e: unknown) =>
    e instanceof NotFound && e.status === 404 && /^req_/.test(e.requestId ?? ""));
  await assert.rejects(Sandbox.create({ language: "cobol" as "node" }), (e: unknown) =>
    e instanceof Invalid && e.message === "language: must be one of python, node, go, java");
  await assert.rejects(new Petri({ apiKey: "petri_" + "0".repeat(64) }).sandboxes.list(), Unauthorized);
  const aud = await admin.keys.create({ role: "auditor", name: "ts" });
  await assert.rejects(Sandbox.create({ apiKey: aud.key! }), Forbidden);
  const port = await new Promise<number>((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
  await assert.rejects(new Petri({ url: `http://127.0.0.1:${port}`, apiKey: "x" }).health(),
                       (e: unknown) => e instanceof ConnectionFailed && e.status === 0);
  assert.throws(() => new Petri({ url: "ftp://example.invalid" }), TypeError);
  await using sb = await Sandbox.create({ language: "node" });
  await assert.rejects(sb.exec({ command: "true", bogus: 1 } as never), TypeError);
  await assert.rejects(sb.exec({ command: "true", timeoutMs: 0 }), (e: unknown) =>
    e instanceof Invalid && e.message.includes("timeout_ms"));
  const e = errorFromAnswer(503, '{"error":{"code":"unavailable","message":"m"}}', "4");
  assert.ok(e instanceof PetriError && e.retryAfter === 4 && e.message === "m");
  assert.ok(errorFromAnswer(409, '{"error":{"code":"sync_conflict","message":"x"}}') instanceof SyncConflict);
  assert.equal(errorFromAnswer(502, "<html>bad</html>").code, "http_502");
  assert.ok(url.startsWith("http://127.0.0.1:"));
});

test("cleanup: `await using` deletes the sandbox when the body throws", async () => {
  let id = "";
  const body = async () => {
    await using sb = await Sandbox.create({ language: "node" });
    id = sb.id;
    throw new RangeError("the body failed");
  };
  await assert.rejects(body(), (e: unknown) => e instanceof RangeError && e.message === "the body failed");
  await assert.rejects(admin.sandboxes.get(id), NotFound);
  const sb = await Sandbox.create({ language: "node" });
  await sb.close();
  await sb.delete(); // twice: no error
  await assert.rejects(admin.sandboxes.get(sb.id), NotFound);
});

test("test mode counts the runner's results", async () => {
  await using sb = await Sandbox.create({ language: "node" });
  await sb.files.write("calc.test.js", "const t = require('node:test'); const a = require('node:assert');\n" +
    "t.test('ok', () => a.equal(1 + 1, 2)); t.test('bad', () => a.equal(1, 2));\n");
  const r = await sb.test();
  assert.ok(r.test, JSON.stringify(r.raw).slice(0, 300));
  assert.equal(r.test!.passed, 1);
  assert.equal(r.test!.failed, 1);
});

test("admin: keys, policies, secrets (values write-only), audit", async () => {
  const k = await admin.keys.create({ role: "agent", tenant: "sdk-ts", name: "ts" });
  assert.match(k.key!, /^petri_[0-9a-f]{64}$/);
  assert.ok((await admin.keys.list()).some((x) => x.id === k.id && x.key === undefined));
  const agent = new Petri({ apiKey: k.key! });
  assert.deepEqual(await agent.sandboxes.list(), []);
  await admin.keys.delete(k.id);
  await assert.rejects(agent.sandboxes.list(), Unauthorized);
  const pol = { name: "ts-web", allow: [{ host: "api.example.test", methods: ["GET"] }] };
  assert.equal((await admin.policies.put("ts-web", pol)).version, 1);
  assert.equal((await admin.policies.get("ts-web")).version, 1);
  assert.equal((await admin.policies.list())[0]!.name, "deny-all");
  const value = "sk_ts_test_44f2";
  const s = await admin.secrets.create({ name: "ts-s", value, hosts: ["api.example.test"],
                                         inject: { header: "Authorization", format: "Bearer {value}" } });
  assert.equal(s.version, 1);
  assert.equal((await admin.secrets.update("ts-s", { value: "other" })).version, 2);
  assert.ok(!JSON.stringify(await admin.secrets.list()).includes(value));
  {
    await using sb = await Sandbox.create({ language: "node", policy: "ts-web", secrets: ["ts-s"] });
    const info = await sb.info();
    assert.equal(info.policy, "ts-web");
    assert.deepEqual(info.secrets, ["ts-s"]);
  }
  await admin.secrets.delete("ts-s");
  await admin.policies.delete("ts-web");
  await assert.rejects(admin.secrets.get("ts-s"), NotFound);
  const aud = new Petri({ apiKey: (await admin.keys.create({ role: "auditor" })).key! });
  const recs = await aud.audit.records({ fromSeq: 0, limit: 3 });
  assert.equal(JSON.parse(recs[0]!.record).type, "log.started");
  assert.equal((await aud.audit.record(1)).inclusion!.leaf_index, 1);
  assert.match(await aud.audit.checkpoint(), /^petri\//);
  assert.equal((await aud.audit.publicKey()).algorithm, "Ed25519");
  const bundle = await aud.audit.export();
  assert.ok(bundle.length > 1024);
  assert.equal(new TextDecoder().decode(bundle.slice(257, 262)), "ustar");
});

test("offline: SSE split anywhere, tar with long and non-ASCII names", async () => {
  const raw = ': c\n\nevent: stdout\ndata: "a\\n"\n\nevent: stderr\r\ndata:"b"\r\n\r\nevent: x\ndata: 1\ndata: 2\n\ndata: tail';
  for (const cut of [1, 3, 7, 1000]) {
    const parts = [];
    for (let i = 0; i < raw.length; i += cut) parts.push(raw.slice(i, i + cut));
    const got = [];
    for await (const e of parseSSE(chunks(parts))) got.push(e);
    assert.deepEqual(got, [["stdout", '"a\\n"'], ["stderr", '"b"'], ["x", "1\n2"], ["message", "tail"]]);
  }
  const long = "d/".repeat(70) + "f.txt";
  const dir = mkdtempSync(join(tmpdir(), "petri-tar-"));
  try {
    const t = tarPack([{ name: long, data: new TextEncoder().encode("x") },
                       { name: "é.txt", data: new Uint8Array([1, 2]) }]);
    writeFileSync(join(dir, "t.tar"), t);
    const names = execFileSync("tar", ["-tf", join(dir, "t.tar")]).toString().trim().split("\n");
    assert.deepEqual(names, [long, "é.txt"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
