/**
 * @petri/sdk: run AI-generated code in an audited Petri sandbox.
 *
 *   import { Sandbox } from "@petri/sdk";
 *   await using sb = await Sandbox.create({ language: "node" });
 *   console.log((await sb.exec({ code: "console.log('hello from isolation')" })).output);
 */
export { Petri, type SecretBinding } from "./client.js";
export * from "./errors.js";
export { Transport, parseSSE, type ClientOptions } from "./http.js";
export { Execution, Files, Sandbox, type ExecOptions, type SandboxOptions } from "./sandbox.js";
export { SKIP_DIRS, type FileMap, type UploadOptions, type UploadSource } from "./sync.js";
export { tarPack } from "./tar.js";
export { raiseForError } from "./types.js";
export type {
  ApiKey, AuditRecord, AuditRef, ExecEvent, ExecResult, FileEntry, InstallInfo, Limits,
  NetworkCall, PolicyInfo, SandboxInfo, SbomRef, SecretInfo, TestReport, UploadResult,
} from "./types.js";
