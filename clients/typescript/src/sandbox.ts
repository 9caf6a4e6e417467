/** Sandbox: one isolated workspace and container on a petrid. */
import { NotFound } from "./errors.js";
import { Transport, quotePath, type ClientOptions } from "./http.js";
import { upload, type UploadOptions, type UploadSource } from "./sync.js";
import {
  limitsJSON, toExec, toFile, toSandbox, type ExecEvent, type ExecResult, type FileEntry,
  type Limits, type SandboxInfo, type UploadResult,
} from "./types.js";

// `await using` needs Symbol.asyncDispose; Node 18 and older browsers lack it.
(Symbol as { asyncDispose?: symbol }).asyncDispose ??= Symbol.for("Symbol.asyncDispose");

export interface ExecOptions {
  /** A piece of code, run by the language's interpreter or toolchain. */
  code?: string;
  /** A shell command, run by /bin/sh -c. */
  command?: string;
  /** An argv, run without a shell. */
  argv?: string[];
  /** A workspace file, run with the language's interpreter or toolchain. */
  filename?: string;
  cwd?: string;
  env?: Record<string, string>;
  stdin?: string;
  timeoutMs?: number;
  /** Recorded in the audit log. */
  prompt?: string;
  /** Recorded in the audit log. */
  model?: string;
  labels?: Record<string, string>;
  install?: "auto" | "skip" | "only";
  fresh?: boolean;
  /** Cancels the request (and a stream). */
  signal?: AbortSignal;
}

export interface SandboxOptions extends ClientOptions {
  language?: "python" | "node" | "go" | "java";
  limits?: Limits;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  policy?: string;
  secrets?: string[];
  ttlSeconds?: number;
  runtime?: "runc" | "runsc";
  /** Share one transport between sandboxes (Petri.sandboxes.create sets it). */
  transport?: Transport;
}

function execBody(o: ExecOptions): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  const map: [keyof ExecOptions, string][] = [
    ["code", "code"], ["command", "command"], ["argv", "argv"], ["filename", "filename"],
    ["cwd", "cwd"], ["env", "env"], ["stdin", "stdin"], ["timeoutMs", "timeout_ms"],
    ["prompt", "prompt"], ["model", "model"], ["labels", "labels"], ["install", "install"],
    ["fresh", "fresh"],
  ];
  const known = new Set<string>([...map.map(([k]) => k as string), "signal"]);
  for (const k of Object.keys(o))
    if (!known.has(k)) throw new TypeError(`unknown execution option ${JSON.stringify(k)}`);
  for (const [k, wire] of map) if (o[k] !== undefined) b[wire] = o[k];
  return b;
}

async function* events(src: AsyncGenerator<[string, string]>): AsyncGenerator<ExecEvent> {
  for await (const [event, data] of src) {
    let v: unknown = data;
    try { v = JSON.parse(data); } catch { /* plain text */ }
    if (event === "exit" && v && typeof v === "object")
      yield { event, data: "", result: toExec(v as Record<string, unknown>) };
    else
      yield { event, data: typeof v === "string" ? v : data };
  }
}

/** The workspace's files (paths relative to /sandbox). */
export class Files {
  readonly #t: Transport;
  readonly #id: string;

  constructor(t: Transport, id: string) {
    this.#t = t;
    this.#id = id;
  }

  #url(p: string): string {
    return `/v1/sandboxes/${this.#id}/files/${quotePath(p)}`;
  }

  /** Writes one file atomically; mode 0o644 or 0o755. */
  async write(path: string, data: string | Uint8Array, o: { mode?: number } = {}): Promise<FileEntry> {
    const body = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const ans = await this.#t.json<{ files: Record<string, unknown>[] }>("PUT", this.#url(path), {
      body, query: { mode: o.mode?.toString(8) },
      headers: { "Content-Type": "application/octet-stream" },
    });
    return toFile(ans.files[0]!);
  }

  /** The file's bytes (at most 64 MiB). */
  read(path: string): Promise<Uint8Array> {
    return this.#t.bytes("GET", this.#url(path));
  }

  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.read(path));
  }

  /** A directory's entries (the root by default); links are never followed. */
  async list(path?: string, o: { recursive?: boolean } = {}): Promise<FileEntry[]> {
    const ans = await this.#t.json<{ files: Record<string, unknown>[] }>(
      "GET", `/v1/sandboxes/${this.#id}/files`,
      { query: { path, recursive: o.recursive ? "true" : undefined } });
    return (ans.files ?? []).map(toFile);
  }

  /** Removes a file, or a directory with all it holds. */
  async remove(path: string, o: { missingOk?: boolean } = {}): Promise<void> {
    try {
      await this.#t.none("DELETE", this.#url(path));
    } catch (e) {
      if (!(o.missingOk && e instanceof NotFound)) throw e;
    }
  }
}

/** A background execution started by Sandbox.start(). */
export class Execution {
  readonly #t: Transport;
  readonly id: string;

  constructor(t: Transport, id: string) {
    this.#t = t;
    this.id = id;
  }

  /** The execution now: status "running" or "finished", output so far. */
  async get(): Promise<ExecResult> {
    return toExec(await this.#t.json("GET", `/v1/execs/${this.id}`));
  }

  /** Writes to the program's standard input; eof closes it. */
  async write(data: string, o: { eof?: boolean } = {}): Promise<void> {
    await this.#t.none("POST", `/v1/execs/${this.id}/stdin`, { json: { data, eof: !!o.eof } });
  }

  closeStdin(): Promise<void> {
    return this.write("", { eof: true });
  }

  /** Stops the program (SIGKILL); Conflict when it had already ended. */
  async kill(): Promise<void> {
    await this.#t.none("POST", `/v1/execs/${this.id}/kill`, { json: {} });
  }

  /** Follows the output from the start to the exit event. */
  stream(o: { signal?: AbortSignal } = {}): AsyncGenerator<ExecEvent> {
    return events(this.#t.events("GET", `/v1/execs/${this.id}/stream`, { signal: o.signal }));
  }

  /** Polls until the execution finished. */
  async wait(o: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const deadline = o.timeoutMs !== undefined ? Date.now() + o.timeoutMs : Infinity;
    let pause = 100;
    for (;;) {
      const r = await this.get();
      if (r.status !== "running" && r.status !== "killing") return r;
      if (Date.now() >= deadline) throw new Error(`execution ${this.id} still running`);
      await new Promise((res) => setTimeout(res, pause));
      pause = Math.min(pause * 1.5, 1000);
    }
  }
}

/**
 * A sandbox.  `await using sb = await Sandbox.create({ language: "node" })`
 * deletes it when the scope ends, also on an exception; else call delete().
 */
export class Sandbox {
  readonly id: string;
  readonly files: Files;
  readonly #t: Transport;
  #info: SandboxInfo;
  #deleted = false;

  private constructor(t: Transport, info: SandboxInfo) {
    this.#t = t;
    this.#info = info;
    this.id = info.id;
    this.files = new Files(t, info.id);
  }

  /** Creates a sandbox (URL and key from options or PETRI_URL / PETRI_API_KEY). */
  static async create(o: SandboxOptions = {}): Promise<Sandbox> {
    const t = o.transport ?? new Transport(o);
    const body: Record<string, unknown> = { language: o.language ?? "python" };
    if (o.limits) body.limits = limitsJSON(o.limits);
    if (o.env) body.env = o.env;
    if (o.labels) body.labels = o.labels;
    if (o.policy !== undefined) body.policy = o.policy;
    if (o.secrets) body.secrets = o.secrets;
    if (o.ttlSeconds !== undefined) body.ttl_seconds = o.ttlSeconds;
    if (o.runtime) body.runtime = o.runtime;
    return new Sandbox(t, toSandbox(await t.json("POST", "/v1/sandboxes", { json: body })));
  }

  /** Attaches to an existing sandbox (NotFound when none in the key's tenant). */
  static async connect(id: string, o: ClientOptions & { transport?: Transport } = {}): Promise<Sandbox> {
    const t = o.transport ?? new Transport(o);
    return new Sandbox(t, toSandbox(await t.json("GET", `/v1/sandboxes/${quotePath(id)}`)));
  }

  get language(): string {
    return this.#info.language;
  }

  /** The sandbox as it is now. */
  async info(): Promise<SandboxInfo> {
    this.#info = toSandbox(await this.#t.json("GET", `/v1/sandboxes/${this.id}`));
    return this.#info;
  }

  /** Extends the sandbox's life; returns the new expiresAt. */
  async keepalive(ttlSeconds?: number): Promise<string> {
    const ans = await this.#t.json<{ expires_at: string }>(
      "POST", `/v1/sandboxes/${this.id}/keepalive`,
      { json: ttlSeconds !== undefined ? { ttl_seconds: ttlSeconds } : {} });
    return ans.expires_at;
  }

  /** Removes the sandbox; the audit records stay.  Already gone: no error. */
  async delete(): Promise<void> {
    if (this.#deleted) return;
    try {
      await this.#t.none("DELETE", `/v1/sandboxes/${this.id}`);
    } catch (e) {
      if (!(e instanceof NotFound)) throw e;
    }
    this.#deleted = true;
  }

  close(): Promise<void> {
    return this.delete();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.delete();
  }

  /** Runs code, a command, an argv or a file; a non-zero exit is data. */
  async exec(o: ExecOptions): Promise<ExecResult> {
    return toExec(await this.#t.json("POST", `/v1/sandboxes/${this.id}/exec`,
                                     { json: execBody(o), signal: o.signal }));
  }

  /** Like exec, yielding install / stdout / stderr chunks, then exit. */
  stream(o: ExecOptions): AsyncGenerator<ExecEvent> {
    return events(this.#t.events("POST", `/v1/sandboxes/${this.id}/exec`,
                                 { json: execBody(o), signal: o.signal }));
  }

  /** Starts a background execution (no timeout unless timeoutMs). */
  async start(o: ExecOptions): Promise<Execution> {
    const ans = await this.#t.json<{ id: string }>("POST", `/v1/sandboxes/${this.id}/exec`,
      { json: { ...execBody(o), background: true }, signal: o.signal });
    return new Execution(this.#t, ans.id);
  }

  /** Test mode: install, start command (if any) as the app, run the tests. */
  async test(o: Omit<ExecOptions, "code" | "argv" | "filename"> = {}): Promise<ExecResult> {
    return toExec(await this.#t.json("POST", `/v1/sandboxes/${this.id}/exec`,
                                     { json: { ...execBody(o), test: true }, signal: o.signal }));
  }

  /** The last executions, newest first, without output. */
  async execs(): Promise<ExecResult[]> {
    const ans = await this.#t.json<{ execs: Record<string, unknown>[] }>(
      "GET", `/v1/sandboxes/${this.id}/execs`);
    return (ans.execs ?? []).map(toExec);
  }

  /**
   * Uploads a project: a directory path (Node) or a map of files by delta
   * sync (only missing or changed files travel; delete removes the rest,
   * in one atomic commit; a full tar when the server lacks the sync
   * routes), or an archive (path, bytes or Blob).
   */
  upload(src: UploadSource, o: UploadOptions = {}): Promise<UploadResult> {
    return upload(this.#t, this.id, src, o, () => this.info(),
                  (p) => this.files.remove(p, { missingOk: true }));
  }
}
