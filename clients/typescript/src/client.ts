/** Petri: the client for one petrid (sandboxes, keys, policies, secrets, audit). */
import { Transport, quotePath, type ClientOptions } from "./http.js";
import { Sandbox, type SandboxOptions } from "./sandbox.js";
import {
  toKey, toPolicy, toRecord, toSandbox, toSecret, type ApiKey, type AuditRecord, type PolicyInfo,
  type SandboxInfo, type SecretInfo,
} from "./types.js";

type J = Record<string, unknown>;

export interface SecretBinding {
  hosts?: string[];
  methods?: string[];
  paths?: string[];
  port?: number;
  /** {header, format} | {basic: {username}} | {placeholder: {env, header?, format?}} */
  inject?: J;
}

export class Petri {
  readonly transport: Transport;

  constructor(o: ClientOptions = {}) {
    this.transport = new Transport(o);
  }

  get url(): string {
    return this.transport.url;
  }

  health(): Promise<J> {
    return this.transport.json("GET", "/healthz");
  }

  /** /readyz: Unavailable when Docker or the keeper does not answer. */
  ready(): Promise<J> {
    return this.transport.json("GET", "/readyz");
  }

  readonly sandboxes = {
    create: (o: Omit<SandboxOptions, keyof ClientOptions | "transport"> = {}): Promise<Sandbox> =>
      Sandbox.create({ ...o, transport: this.transport }),
    connect: (id: string): Promise<Sandbox> => Sandbox.connect(id, { transport: this.transport }),
    list: async (o: { label?: string; state?: string } = {}): Promise<SandboxInfo[]> => {
      const a = await this.transport.json<{ sandboxes: J[] }>("GET", "/v1/sandboxes", { query: o });
      return a.sandboxes.map(toSandbox);
    },
    get: async (id: string): Promise<SandboxInfo> =>
      toSandbox(await this.transport.json("GET", `/v1/sandboxes/${quotePath(id)}`)),
    delete: (id: string): Promise<void> =>
      this.transport.none("DELETE", `/v1/sandboxes/${quotePath(id)}`),
  };

  /** API keys (admin); a key's secret is in the create answer only. */
  readonly keys = {
    create: async (o: { role: "admin" | "agent" | "auditor"; tenant?: string; name?: string }): Promise<ApiKey> =>
      toKey(await this.transport.json("POST", "/v1/keys", { json: o })),
    list: async (): Promise<ApiKey[]> =>
      (await this.transport.json<{ keys: J[] }>("GET", "/v1/keys")).keys.map(toKey),
    delete: (id: string): Promise<void> => this.transport.none("DELETE", `/v1/keys/${quotePath(id)}`),
  };

  /** Egress policies of the caller's tenant (admin). */
  readonly policies = {
    list: async (): Promise<PolicyInfo[]> =>
      (await this.transport.json<{ policies: J[] }>("GET", "/v1/policies")).policies.map(toPolicy),
    get: async (name: string): Promise<PolicyInfo> =>
      toPolicy(await this.transport.json("GET", `/v1/policies/${quotePath(name)}`)),
    put: async (name: string, policy: J): Promise<PolicyInfo> =>
      toPolicy(await this.transport.json("PUT", `/v1/policies/${quotePath(name)}`, { json: policy })),
    delete: (name: string): Promise<void> =>
      this.transport.none("DELETE", `/v1/policies/${quotePath(name)}`),
  };

  /** Vault secrets (admin).  Values are write-only: no call returns one. */
  readonly secrets = {
    create: async (o: { name: string; value: string } & SecretBinding): Promise<SecretInfo> =>
      toSecret(await this.transport.json("POST", "/v1/secrets", { json: o })),
    list: async (): Promise<SecretInfo[]> =>
      (await this.transport.json<{ secrets: J[] }>("GET", "/v1/secrets")).secrets.map(toSecret),
    get: async (name: string): Promise<SecretInfo> =>
      toSecret(await this.transport.json("GET", `/v1/secrets/${quotePath(name)}`)),
    /** Rotates the value and/or replaces the binding (a complete one). */
    update: async (name: string, o: { value?: string } & SecretBinding): Promise<SecretInfo> =>
      toSecret(await this.transport.json("PUT", `/v1/secrets/${quotePath(name)}`, { json: o })),
    delete: (name: string): Promise<void> =>
      this.transport.none("DELETE", `/v1/secrets/${quotePath(name)}`),
  };

  /** The signed audit log (auditor, admin). */
  readonly audit = {
    records: async (o: { fromSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> =>
      (await this.transport.json<{ records: J[] }>("GET", "/v1/audit/records",
        { query: { from: o.fromSeq, limit: o.limit } })).records.map(toRecord),
    record: async (seq: number): Promise<AuditRecord> =>
      toRecord(await this.transport.json("GET", `/v1/audit/records/${seq}`)),
    checkpoint: async (): Promise<string> =>
      new TextDecoder().decode(await this.transport.bytes("GET", "/v1/audit/checkpoint")),
    consistency: (from: number, to: number): Promise<J> =>
      this.transport.json("GET", "/v1/audit/proof/consistency", { query: { from, to } }),
    blob: (sha256: string): Promise<Uint8Array> =>
      this.transport.bytes("GET", `/v1/audit/blobs/${quotePath(sha256)}`),
    publicKey: (): Promise<J> => this.transport.json("GET", "/v1/audit/public-key"),
    sinks: (): Promise<J> => this.transport.json("GET", "/v1/audit/sinks"),
    /** The offline bundle (tar) for petri-verify. */
    export: (o: { fromSeq?: number; toSeq?: number } = {}): Promise<Uint8Array> =>
      this.transport.bytes("GET", "/v1/audit/export", { query: { from: o.fromSeq, to: o.toSeq } }),
  };
}
