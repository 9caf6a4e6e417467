/**
 * Uploading a project into a workspace.  A directory (Node) or an
 * in-memory map of files goes by delta sync when the server has it: a
 * manifest of SHA-256s first, then only the files missing or different,
 * committed atomically.  A server without the sync routes answers 404 and
 * the whole project goes as one tar.  An archive goes to the upload route.
 */
import { NotFound, SyncConflict } from "./errors.js";
import type { Transport } from "./http.js";
import { tarPack } from "./tar.js";
import { toFile, type UploadResult } from "./types.js";

/** Directories never sent: local tool state, not project content. */
export const SKIP_DIRS = new Set([".git", "__pycache__", "node_modules", ".petri"]);

export interface UploadOptions {
  /** Workspace directory to sync into (default "."). */
  target?: string;
  /** Remove workspace files under target that the project does not have. */
  delete?: boolean;
  /** Archives only: leading path components to drop. */
  strip?: number;
}

/** A project held in memory: path -> content. */
export type FileMap = Record<string, string | Uint8Array>;
/** A directory or archive path (Node), a FileMap, or archive bytes. */
export type UploadSource = string | FileMap | Uint8Array | Blob;

interface Entry { sha256: string; size: number; load: () => Promise<Uint8Array> }

const enc = new TextEncoder();

/** Loads a Node module by a name bundlers leave alone (browsers never get here). */
const nodeModule = (name: string): Promise<unknown> => import(name);
type NodeFs = typeof import("node:fs/promises");
type NodePath = typeof import("node:path");
type NodeCrypto = typeof import("node:crypto");

async function sha256hex(data: Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (subtle) {
    const d = new Uint8Array(await subtle.digest("SHA-256", data as unknown as BufferSource));
    return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const { createHash } = (await nodeModule("node:crypto")) as NodeCrypto;
  return createHash("sha256").update(data).digest("hex");
}

async function fromMap(files: FileMap): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  for (const name of Object.keys(files).sort()) {
    const v = files[name]!;
    const data = typeof v === "string" ? enc.encode(v) : v;
    out.set(name.replace(/^\/+/, ""), { sha256: await sha256hex(data), size: data.length,
                                        load: async () => data });
  }
  return out;
}

/** Every regular file below root (Node): symbolic links are skipped. */
export async function scanDir(root: string): Promise<Map<string, Entry>> {
  const fs = (await nodeModule("node:fs/promises")) as NodeFs;
  const path = (await nodeModule("node:path")) as NodePath;
  const out = new Map<string, Entry>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    const ents = await fs.readdir(dir, { withFileTypes: true });
    ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of ents) {
      const full = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) await walk(full, r);
      } else if (e.isFile()) {
        const data = new Uint8Array(await fs.readFile(full));
        out.set(r, { sha256: await sha256hex(data), size: data.length,
                     load: async () => new Uint8Array(await fs.readFile(full)) });
      }
    }
  };
  await walk(root, "");
  return out;
}

/** A tar of the named files, gzipped where the runtime has CompressionStream. */
async function pack(files: Map<string, Entry>, names: string[], prefix: string):
    Promise<{ body: Uint8Array; type: string }> {
  const list = [];
  for (const n of names) list.push({ name: prefix + n, data: await files.get(n)!.load() });
  const tar = tarPack(list);
  if (typeof CompressionStream === "undefined") return { body: tar, type: "application/x-tar" };
  const gz = new Blob([tar as unknown as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return { body: new Uint8Array(await new Response(gz).arrayBuffer()), type: "application/gzip" };
}

function prefixOf(target: string): string {
  let t = target.replace(/^\/+|\/+$/g, "");
  if (t === "sandbox") t = "";
  else if (t.startsWith("sandbox/")) t = t.slice("sandbox/".length);
  return t === "" || t === "." ? "" : t + "/";
}

async function sync(t: Transport, id: string, files: Map<string, Entry>, target: string,
                    del: boolean): Promise<UploadResult> {
  const manifest = [...files].map(([path, e]) => ({ path, sha256: e.sha256, size: e.size }));
  const plan = await t.json<{ sync: string; upload?: string[] }>(
    "POST", `/v1/sandboxes/${id}/sync`, { json: { path: target, files: manifest, delete: del } });
  const want = plan.upload ?? [];
  if (want.some((p) => !files.has(p)))
    throw new SyncConflict("the server asked for files not in the manifest", 409, "sync_conflict");
  const { body, type } = want.length ? await pack(files, want, "")
                                     : { body: new Uint8Array(0), type: "application/x-tar" };
  const done = await t.json<Record<string, number>>(
    "PUT", `/v1/sandboxes/${id}/sync/${encodeURIComponent(plan.sync)}`,
    { body, headers: { "Content-Type": type } });
  return { method: "sync", uploaded: done.uploaded ?? 0, deleted: done.deleted ?? 0,
           unchanged: done.unchanged ?? 0, bytes: body.length, files: [], raw: done };
}

async function archive(t: Transport, id: string, body: Uint8Array | Blob, ctype: string,
                       query: Record<string, string | number | undefined>): Promise<UploadResult> {
  const ans = await t.json<{ files?: Record<string, unknown>[] }>(
    "POST", `/v1/sandboxes/${id}/upload`, { body, query, headers: { "Content-Type": ctype } });
  const files = (ans.files ?? []).map(toFile);
  const bytes = body instanceof Uint8Array ? body.length : body.size;
  return { method: "archive", uploaded: files.length, deleted: 0, unchanged: 0, bytes, files,
           raw: ans };
}

const ARCHIVES: [string, string][] = [
  [".tar.gz", "application/gzip"], [".tgz", "application/gzip"],
  [".tar.bz2", "application/x-bzip2"], [".tar.xz", "application/x-xz"],
  [".tar.zst", "application/zstd"], [".tar", "application/x-tar"], [".zip", "application/zip"],
];

/** See Sandbox.upload. */
export async function upload(t: Transport, id: string, src: UploadSource, o: UploadOptions,
                             exists: () => Promise<unknown>,
                             removeDir: (p: string) => Promise<void>): Promise<UploadResult> {
  const target = o.target ?? ".";
  const del = !!o.delete;
  let files: Map<string, Entry> | undefined;
  if (typeof src === "string") {
    const fs = (await nodeModule("node:fs/promises")) as NodeFs;
    const st = await fs.stat(src);
    if (st.isDirectory()) {
      files = await scanDir(src);
    } else {
      const low = src.toLowerCase();
      const ctype = ARCHIVES.find(([s]) => low.endsWith(s))?.[1] ?? "application/octet-stream";
      return archive(t, id, new Uint8Array(await fs.readFile(src)), ctype,
                     { strip: o.strip, replace: del ? "true" : undefined });
    }
  } else if (src instanceof Uint8Array || (typeof Blob !== "undefined" && src instanceof Blob)) {
    return archive(t, id, src as Uint8Array | Blob, "application/octet-stream",
                   { strip: o.strip, replace: del ? "true" : undefined });
  } else {
    files = await fromMap(src as FileMap);
  }
  try {
    try {
      return await sync(t, id, files, target, del);
    } catch (e) {
      if (e instanceof SyncConflict) return await sync(t, id, files, target, del); // once more
      throw e;
    }
  } catch (e) {
    if (!(e instanceof NotFound)) throw e;
    await exists(); // NotFound itself when the sandbox is gone
    const prefix = prefixOf(target);
    if (del && prefix) await removeDir(prefix.slice(0, -1));
    const { body, type } = await pack(files, [...files.keys()], prefix);
    return archive(t, id, body, type, { replace: del && !prefix ? "true" : undefined });
  }
}
