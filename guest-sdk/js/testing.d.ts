// Types for `@gatehouse/sdk/testing` (testing.js): unit-test a handler
// without the platform, under node's test runner.

import type { Handler } from "./gatehouse.js";

/** The caller, the endpoint's config and the stand-ins' limits for one test. */
export interface TestOptions {
  /** The caller's user id; with `scopes`, makes the caller an API key unless `kind` says otherwise. */
  user?: string;
  scopes?: string[];
  kind?: "api-key" | "session" | "anonymous";
  /** A session's claims (`auth.current().claims`). */
  claims?: Record<string, unknown>;
  tenant?: string;
  /** The endpoint's variables and granted secrets (`config.get`). */
  config?: Record<string, string>;
  /** A folder (path or file URL) of `*.sql` files, applied in name order; its `sqlite/` subfolder if it has one. */
  migrations?: string | URL;
  /** Outbound calls one request may make (the platform's default is 10). */
  maxCalls?: number;
  /** Server-sent events the client reads before it leaves (`stream.sendEvent` then throws `StreamClosed`). */
  clientLeavesAfter?: number;
  /** The largest object `blobs.put` takes, in bytes (above it: 413 BLOB_TOO_LARGE); the platform's default, 10 MiB. */
  maxBlobBytes?: number;
  /** The bytes all stored objects may take (past it: 413 BLOB_QUOTA_EXCEEDED); the platform's default, 1 GiB. */
  blobQuotaBytes?: number;
  /** The objects that may be stored (past it: 413 BLOB_QUOTA_EXCEEDED); the platform's default, 100 000. */
  maxBlobObjects?: number;
}

/** One request, as the platform's gate admitted it. */
export interface CallInit {
  /** The route's parameters (`req.param`). */
  params?: Record<string, string | number>;
  query?: Record<string, string> | [string, string][];
  headers?: Record<string, string> | [string, string][];
  /** A value sent as the JSON body (with `content-type: application/json`). */
  json?: unknown;
  body?: string | Uint8Array;
  requestId?: string;
}

/** What `http.fetch(url, { method })` answers in this test. */
export interface MockAnswer {
  status?: number;
  json?: unknown;
  body?: string | Uint8Array;
  headers?: Record<string, string> | [string, string][];
  /** The body in pieces, one per `read()` of a streamed fetch. */
  chunks?: (string | Uint8Array)[];
  /** `"timeout"` is 503 UPSTREAM_TIMEOUT; anything else 503 UPSTREAM_UNAVAILABLE. */
  fail?: "timeout" | "unreachable" | string;
}

/** An outbound request the handler made. */
export interface RecordedCall {
  method: string;
  url: string;
  headers: [string, string][];
  body?: Uint8Array;
  timeoutMs?: number;
}

/** What the handler answered, as the client would get it. */
export declare class TestResponse {
  readonly status: number;
  readonly headers: [string, string][];
  readonly body: Uint8Array;
  /** For a streamed answer, each server-sent event. */
  readonly events: { event?: string; data: string; id?: string }[];
  header(name: string): string | undefined;
  text(): string;
  json<T = any>(): T;
}

/** The test's own access to the database the handler sees. */
export interface TestDatabase {
  /** Several statements allowed (fixtures, schema). */
  exec(sql: string): void;
  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]>;
  execute(sql: string, ...params: unknown[]): Promise<number>;
}

/** The platform as one handler call sees it; `close()` it when the test ends. */
export declare class TestPlatform {
  static open(options?: TestOptions): Promise<TestPlatform>;
  readonly db: TestDatabase;
  /** The outbound requests the handler made. */
  readonly calls: RecordedCall[];
  /** The handler's log lines, as `[level, message]`. */
  readonly logs: [string, string][];
  /** The objects stored, in key order. */
  readonly blobs: Map<string, { contentType: string; data: Uint8Array }>;
  mock(method: string, url: string, answer?: MockAnswer): void;
  call(handler: Handler, method?: string, path?: string, init?: CallInit): Promise<TestResponse>;
  close(): void;
}
