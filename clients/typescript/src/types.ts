/** Typed results (camelCase).  Each keeps the JSON it came from in `raw`. */
import { InstallFailed } from "./errors.js";

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface AuditRef { seq: number; leafHash: string; href: string }
export interface InstallInfo {
  ran: boolean; exitCode: number | null; manifest: string | null; durationMs?: number;
  log: string; logSha256?: string; logSize?: number;
}
export interface SbomRef { format: string; specVersion: string; components: number; sha256: string; href: string }
export interface NetworkCall {
  time?: string; method: string; scheme?: string; host: string; port: number; path?: string;
  status: number | null; decision: "allow" | "deny" | "error"; rule?: unknown;
  reason?: string | null; secret?: string | null; bytesOut?: number; bytesIn?: number; raw: J;
}
export interface TestReport {
  runner: string; exitCode: number | null; port: number | null; passed: number; failed: number;
  skipped: number; errors: number; counted: boolean; durationMs?: number; report: J | null;
}
export interface ExecResult {
  id: string; sandbox: string; status: "running" | "finished" | string;
  exitCode: number | null; signal: string | null; timedOut: boolean; oomKilled: boolean;
  truncated: boolean; durationMs?: number; startedAt?: string; finishedAt?: string;
  stdout: string; stderr: string;
  /** stdout and stderr interleaved as they were written */
  output: string;
  install?: InstallInfo; missingImports: string[]; sbom?: SbomRef; network: NetworkCall[];
  audit?: AuditRef; test?: TestReport;
  /** {code, message} when the program did not run (install_failed) */
  error?: { code: string; message: string };
  raw: J;
}
export interface ExecEvent {
  /** "install", "stdout", "stderr" or "exit" */
  event: string;
  /** the chunk of text ("" on exit) */
  data: string;
  /** the final answer, without output, on "exit" */
  result?: ExecResult;
}
export interface Limits { memoryMb?: number; cpus?: number; pids?: number; timeoutMs?: number; diskMb?: number }
export interface SandboxInfo {
  id: string; language: string; state: string; createdAt: string; lastActiveAt: string;
  expiresAt: string; ttlSeconds?: number; policy: string; policyVersion?: number; limits: Limits;
  labels: Record<string, string>; runtime?: string; image?: string;
  /** names only, never values */
  env: string[]; secrets: string[]; raw: J;
}
export interface FileEntry { path: string; type: string; size: number; sha256?: string; mtime?: string }
export interface UploadResult {
  /** "sync" (only missing or changed files were sent) or "archive" (a full upload) */
  method: "sync" | "archive"; uploaded: number; deleted: number; unchanged: number;
  /** bytes sent in request bodies */
  bytes: number; files: FileEntry[]; raw: J;
}
export interface ApiKey { id: string; role: string; tenant: string; name?: string; createdAt: string; key?: string }
export interface SecretInfo {
  id: string; name: string; version: number; hosts: string[]; methods?: string[]; paths?: string[];
  port?: number; inject: J; createdAt: string; rotatedAt: string | null; fingerprint: string;
}
export interface PolicyInfo { name: string; version: number; sha256: string; createdAt?: string; builtin: boolean; policy: J }
export interface AuditRecord {
  seq: number;
  /** the record's exact stored bytes (JSON text) */
  record: string; leafHash: string; signature: string; keyId: string; inclusion?: J;
}

const opt = <T>(v: T | undefined | null): T | undefined => (v === null ? undefined : v);

export function toExec(d: J): ExecResult {
  const i = d.install, s = d.sbom, a = d.audit, t = d.test;
  return {
    id: d.id ?? "", sandbox: d.sandbox ?? "", status: d.status ?? "",
    exitCode: d.exit_code ?? null, signal: d.signal ?? null, timedOut: !!d.timed_out,
    oomKilled: !!d.oom_killed, truncated: !!d.truncated, durationMs: opt(d.duration_ms),
    startedAt: opt(d.started_at), finishedAt: opt(d.finished_at),
    stdout: d.stdout ?? "", stderr: d.stderr ?? "", output: d.output ?? "",
    install: i ? { ran: !!i.ran, exitCode: i.exit_code ?? null, manifest: i.manifest ?? null,
                   durationMs: opt(i.duration_ms), log: i.log ?? "", logSha256: opt(i.log_sha256),
                   logSize: opt(i.log_size) } : undefined,
    missingImports: d.missing_imports ?? [],
    sbom: s ? { format: s.format, specVersion: s.spec_version, components: s.components,
                sha256: s.sha256, href: s.href } : undefined,
    network: (d.network ?? []).map((n: J): NetworkCall => ({
      time: n.time, method: n.method, scheme: n.scheme, host: n.host, port: n.port, path: n.path,
      status: n.status ?? null, decision: n.decision, rule: n.rule, reason: n.reason,
      secret: n.secret, bytesOut: n.bytes_out, bytesIn: n.bytes_in, raw: n })),
    audit: a ? { seq: a.seq, leafHash: a.leaf_hash, href: a.href } : undefined,
    test: t ? { runner: t.runner, exitCode: t.exit_code ?? null, port: t.port ?? null,
                passed: t.passed ?? 0, failed: t.failed ?? 0, skipped: t.skipped ?? 0,
                errors: t.errors ?? 0, counted: !!t.counted, durationMs: opt(t.duration_ms),
                report: t.report ?? null } : undefined,
    error: d.error ? { code: String(d.error.code), message: String(d.error.message) } : undefined,
    raw: d,
  };
}

/** Throws InstallFailed when the program did not run; returns r. */
export function raiseForError(r: ExecResult): ExecResult {
  if (r.error) throw new InstallFailed(r.error.message, 200, r.error.code);
  return r;
}

export function toSandbox(d: J): SandboxInfo {
  const l = d.limits ?? {};
  return {
    id: d.id, language: d.language, state: d.state, createdAt: d.created_at,
    lastActiveAt: d.last_active_at, expiresAt: d.expires_at, ttlSeconds: opt(d.ttl_seconds),
    policy: d.policy, policyVersion: opt(d.policy_version),
    limits: { memoryMb: l.memory_mb, cpus: l.cpus, pids: l.pids, timeoutMs: l.timeout_ms,
              diskMb: l.disk_mb },
    labels: d.labels ?? {}, runtime: opt(d.runtime), image: opt(d.image), env: d.env ?? [],
    secrets: d.secrets ?? [], raw: d,
  };
}

export function toFile(d: J): FileEntry {
  return { path: d.path, type: d.type, size: d.size ?? 0, sha256: opt(d.sha256), mtime: opt(d.mtime) };
}

export function toKey(d: J): ApiKey {
  return { id: d.id, role: d.role, tenant: d.tenant, name: opt(d.name), createdAt: d.created_at,
           key: opt(d.key) };
}

export function toSecret(d: J): SecretInfo {
  return { id: d.id, name: d.name, version: d.version, hosts: d.hosts ?? [], methods: opt(d.methods),
           paths: opt(d.paths), port: opt(d.port), inject: d.inject ?? {}, createdAt: d.created_at,
           rotatedAt: d.rotated_at ?? null, fingerprint: d.fingerprint };
}

export function toPolicy(d: J): PolicyInfo {
  return { name: d.name, version: d.version, sha256: d.sha256, createdAt: opt(d.created_at),
           builtin: !!d.builtin, policy: d.policy ?? {} };
}

export function toRecord(d: J): AuditRecord {
  return { seq: d.seq, record: d.record, leafHash: d.leaf_hash, signature: d.signature,
           keyId: d.key_id, inclusion: opt(d.inclusion) };
}

export function limitsJSON(l: Limits): J {
  const out: J = {};
  if (l.memoryMb !== undefined) out.memory_mb = l.memoryMb;
  if (l.cpus !== undefined) out.cpus = l.cpus;
  if (l.pids !== undefined) out.pids = l.pids;
  if (l.timeoutMs !== undefined) out.timeout_ms = l.timeoutMs;
  if (l.diskMb !== undefined) out.disk_mb = l.diskMb;
  return out;
}
