/**
 * The HTTP transport: fetch only (Node >= 18, browsers).  Holds the URL and
 * the API key, and never logs either.
 */
import { ConnectionFailed, Invalid, PetriError, errorFromAnswer } from "./errors.js";

export const DEFAULT_URL = "http://127.0.0.1:8080";

export interface ClientOptions {
  /** Default: $PETRI_URL (Node), else http://127.0.0.1:8080. */
  url?: string;
  /** Default: $PETRI_API_KEY (Node). */
  apiKey?: string;
  /** Milliseconds for one request and its whole answer (not for streams). Default 300000. */
  timeoutMs?: number;
  /** A fetch implementation (default: globalThis.fetch). */
  fetch?: typeof fetch;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  json?: unknown;
  body?: BodyInit | Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** no timeout: the caller reads the answer as a stream */
  stream?: boolean;
}

function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p?.env?.[name] || undefined;
}

export class Transport {
  readonly url: string;
  readonly #key: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(opts: ClientOptions = {}) {
    const url = opts.url ?? env("PETRI_URL") ?? DEFAULT_URL;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new TypeError(`PETRI_URL must be http(s)://host[:port], not ${JSON.stringify(url)}`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new TypeError(`PETRI_URL must be http(s)://host[:port], not ${JSON.stringify(url)}`);
    this.url = url.replace(/\/+$/, "");
    const key = opts.apiKey ?? env("PETRI_API_KEY");
    this.#key = key ? key.trim() : undefined;
    this.#timeoutMs = opts.timeoutMs ?? 300_000;
    const f = opts.fetch ?? globalThis.fetch;
    if (typeof f !== "function")
      throw new TypeError("no fetch: use Node 18 or later, or pass options.fetch");
    this.#fetch = f.bind(globalThis);
  }

  toJSON(): { url: string } {
    return { url: this.url }; // never the key
  }

  #target(path: string, query?: Query): string {
    let q = "";
    if (query) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(query))
        if (v !== undefined && v !== null) p.append(k, String(v));
      const s = p.toString();
      if (s) q = "?" + s;
    }
    return this.url + path + q;
  }

  /**
   * Sends a request; an answer with status >= 400 throws its error class.
   * The caller reads the answer, then calls done() (which ends the timeout).
   */
  async send(method: string, path: string, o: RequestOptions = {}):
      Promise<{ res: Response; done: () => void }> {
    const headers: Record<string, string> = { Accept: "application/json", ...o.headers };
    if (this.#key) headers["Authorization"] = "Bearer " + this.#key;
    let body = o.body as BodyInit | undefined;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers["Content-Type"] = "application/json";
    }
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(o.signal?.reason);
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = o.stream ? undefined : setTimeout(() => ctl.abort(), this.#timeoutMs);
    const done = () => {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
    };
    let res: Response;
    try {
      res = await this.#fetch(this.#target(path, o.query), {
        method, headers, body, signal: ctl.signal, redirect: "error",
      });
    } catch (e) {
      done();
      throw new ConnectionFailed(`${method} ${path}: ${reason(e)}`, 0, "connection_failed");
    }
    if (res.status >= 400) {
      let text = "";
      try { text = await res.text(); } catch { /* the status says enough */ }
      done();
      throw errorFromAnswer(res.status, text, res.headers.get("Retry-After"));
    }
    return { res, done };
  }

  async #read<T>(method: string, path: string, o: RequestOptions,
                 how: (r: Response) => Promise<T>): Promise<T> {
    const { res, done } = await this.send(method, path, o);
    try {
      return await how(res);
    } catch (e) {
      throw new ConnectionFailed(`${method} ${path}: ${reason(e)}`, 0, "connection_failed");
    } finally {
      done();
    }
  }

  async json<T = unknown>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const text = await this.#read(method, path, o, (r) => r.text());
    return (text ? JSON.parse(text) : null) as T;
  }

  async bytes(method: string, path: string, o: RequestOptions = {}): Promise<Uint8Array> {
    const buf = await this.#read(method, path, { ...o, headers: { Accept: "*/*", ...o.headers } },
                                 (r) => r.arrayBuffer());
    return new Uint8Array(buf);
  }

  async none(method: string, path: string, o: RequestOptions = {}): Promise<void> {
    await this.#read(method, path, o, (r) => r.text());
  }

  /** Yields [event, data] of a Server-Sent Events answer as each arrives. */
  async *events(method: string, path: string, o: RequestOptions = {}): AsyncGenerator<[string, string]> {
    const { res, done } = await this.send(method, path, {
      ...o, stream: true, headers: { ...o.headers, Accept: "text/event-stream" },
    });
    if (!res.body) {
      done();
      return;
    }
    const reader = res.body.getReader();
    try {
      yield* parseSSE(reader);
    } catch (e) {
      if (e instanceof PetriError) throw e;
      throw new ConnectionFailed(`${method} ${path}: stream broke: ${reason(e)}`, 0,
                                 "connection_failed");
    } finally {
      done();
      await reader.cancel().catch(() => undefined);
    }
  }
}

function reason(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string } };
  const m = err?.message ?? String(e);
  return err?.cause?.message ? `${m} (${err.cause.message})` : m;
}

/** The longest line of an event stream. */
const MAX_SSE_LINE = 8 << 20;

/** Parses text/event-stream chunks into [event, data] pairs. */
export async function* parseSSE(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }):
    AsyncGenerator<[string, string]> {
  const dec = new TextDecoder();
  let buf = "", event = "message", data: string[] = [];
  const line = function* (l: string): Generator<[string, string]> {
    if (l.endsWith("\r")) l = l.slice(0, -1);
    if (l === "") {
      if (data.length) yield [event, data.join("\n")];
      event = "message";
      data = [];
      return;
    }
    if (l.startsWith(":")) return;
    const i = l.indexOf(":");
    const name = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? "" : l.slice(i + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "event") event = value;
    else if (name === "data") data.push(value);
  };
  for (;;) {
    const { done, value } = await reader.read();
    buf += done ? dec.decode() : dec.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      yield* line(l);
    }
    if (buf.length > MAX_SSE_LINE)
      throw new PetriError("event stream line too long", 0, "bad_stream");
    if (done) break;
  }
  if (buf) yield* line(buf);
  if (data.length) yield [event, data.join("\n")];
}

/**
 * Percent-encodes a workspace path, keeping slashes; /sandbox/x becomes x.
 * URL parsers resolve "." and ".." segments (also as %2E) before a request
 * leaves, which would send it to another route: such paths are refused
 * here, as the server refuses them.
 */
export function quotePath(p: string): string {
  if (p === "/sandbox" || p.startsWith("/sandbox/")) p = p.slice("/sandbox".length);
  const segs = p.replace(/^\/+/, "").split("/");
  if (segs.some((s) => s === "." || s === ".."))
    throw new Invalid(`path: "." and ".." are not allowed (${JSON.stringify(p)})`, 0,
                      "invalid_request");
  return segs.map(encodeURIComponent).join("/");
}
