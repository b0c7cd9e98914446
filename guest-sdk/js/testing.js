// Unit-test a handler without the platform, under node's test runner:
//
//   import { test } from "node:test";
//   import assert from "node:assert/strict";
//   import { TestPlatform } from "@gatehouse/sdk/testing";
//   const { handler } = await import("./index.js"); // after the import above
//
//   test("reads a post", async () => {
//     const p = await TestPlatform.open({ user: "ada", scopes: ["read"], migrations: "migrations" });
//     try {
//       await p.db.execute("INSERT INTO posts (title, author_id) VALUES (?, ?)", "Hi", "ada");
//       p.mock("GET", "https://api.example.com/v1/x", { json: { ok: true } });
//       const r = await p.call(handler, "GET", "/api/posts/1", { params: { id: "1" } });
//       assert.equal(r.status, 200);
//       assert.equal(r.json().data.title, "Hi");
//     } finally {
//       p.close();
//     }
//   });
//
// Importing this module registers a loader hook (hooks.js) that answers the
// SDK's `gatehouse:endpoint/*` imports with stand-ins, and a missing
// `./gatehouse.js` beside a handler with this package's. ES modules link
// before they run, so the handler is imported after this module: with
// `await import(…)` as above, or by running `node --import
// @gatehouse/sdk/testing --test`, which lets a test import it statically.
//
// While a TestPlatform is open every SDK call is answered here: `auth` by the
// caller you describe, `config.get` by `config`, `db` by an SQLite database in
// memory (your migrations applied, `?` parameters and the platform's error
// codes: a constraint is 409 DB_CONSTRAINT), `http.fetch` by the answers you
// `mock` (anything else is refused like a host not in `allowed_hosts`),
// `blobs` by object storage in memory (the platform's key rules, default
// limits and error codes: a key with a `..` segment is 500 BLOB_INVALID;
// `p.blobs` shows what is stored), and `log` and `stream` are recorded. A
// thrown `HttpError` comes back as the platform's error envelope with its
// status; any other exception is a bug and comes back as the platform gives
// it, 500 GUEST_TRAP, with its stack in `p.logs`.

import { readFileSync, readdirSync, statSync } from "node:fs";
import { register } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  ComponentError,
  DEFAULT_BLOB_QUOTA_BYTES,
  DEFAULT_MAX_BLOB_BYTES,
  DEFAULT_MAX_BLOB_OBJECTS,
  STATE,
  compareKeys,
  concat,
} from "./offplatform.js";

register("./hooks.js", import.meta.url);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Status and default code of each error kind, as the platform renders them. */
const STATUS = {
  "bad-request": [400, "BAD_REQUEST"],
  "validation-failed": [400, "VALIDATION_FAILED"],
  unauthorized: [401, "UNAUTHORIZED"],
  forbidden: [403, "FORBIDDEN"],
  "not-found": [404, "NOT_FOUND"],
  conflict: [409, "CONFLICT"],
  "payload-too-large": [413, "PAYLOAD_TOO_LARGE"],
  "unsupported-media-type": [415, "UNSUPPORTED_MEDIA_TYPE"],
  unprocessable: [422, "UNPROCESSABLE"],
  "too-many-requests": [429, "RATE_LIMIT_EXCEEDED"],
  internal: [500, "INTERNAL_ERROR"],
  unavailable: [503, "SERVICE_UNAVAILABLE"],
};

let sqlJs;

/** sql.js (SQLite compiled to WebAssembly), loaded once. */
async function sqlite() {
  if (!sqlJs) {
    const { default: initSqlJs } = await import("sql.js");
    sqlJs = initSqlJs();
  }
  return sqlJs;
}

function bytes(body) {
  if (body === undefined || body === null) return new Uint8Array();
  return typeof body === "string" ? encoder.encode(body) : new Uint8Array(body);
}

function pairs(headers) {
  if (!headers) return [];
  return (Array.isArray(headers) ? headers : Object.entries(headers)).map(([k, v]) => [String(k), String(v)]);
}

function migrationFiles(migrations) {
  let folder = migrations instanceof URL ? fileURLToPath(migrations) : String(migrations);
  try {
    if (statSync(join(folder, "sqlite")).isDirectory()) folder = join(folder, "sqlite");
  } catch {
    // No `sqlite/` subfolder: the files are in the folder itself.
  }
  return readdirSync(folder)
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .map((name) => join(folder, name));
}

/** What the handler answered, as the client would get it. */
export class TestResponse {
  constructor(status, headers, body, events = []) {
    this.status = status;
    /** `[name, value]` pairs. */
    this.headers = headers;
    /** A `Uint8Array`. */
    this.body = body;
    /** For a streamed answer, each server-sent event as `{ event, data, id }`. */
    this.events = events;
  }
  /** The first value of a header (case-insensitive), or undefined. */
  header(name) {
    return this.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  }
  text() {
    return decoder.decode(this.body);
  }
  json() {
    return JSON.parse(this.text());
  }
}

/** The test's own access to the database the handler sees. */
class TestDatabase {
  constructor(inner) {
    this.inner = inner;
  }
  /** Runs SQL, several statements allowed (fixtures, schema). */
  exec(sql) {
    this.inner.exec(sql);
  }
  /** Rows as objects by column name. */
  async query(sql, ...params) {
    const stmt = this.inner.prepare(sql);
    try {
      stmt.bind(params);
      const rows = [];
      while (stmt.step()) rows.push(stmt.getAsObject());
      return rows;
    } finally {
      stmt.free();
    }
  }
  /** Rows changed. */
  async execute(sql, ...params) {
    this.inner.run(sql, params);
    return this.inner.getRowsModified();
  }
}

/** The platform as one handler call sees it. */
export class TestPlatform {
  /**
   * `user`/`scopes`: the caller (an API key by default; `kind: "session"`
   * with `claims`, or nobody when neither is given). `config`: the endpoint's
   * variables and secrets. `migrations`: a folder (path or file URL) of
   * `*.sql` files, its `sqlite/` subfolder if it has one. `maxCalls`: the
   * outbound calls a request may make. `clientLeavesAfter`: how many
   * server-sent events the client reads before it leaves. `maxBlobBytes`:
   * the largest object `blobs.put` takes (413 BLOB_TOO_LARGE above it);
   * `blobQuotaBytes` and `maxBlobObjects`: the bytes and objects all may
   * take (413 BLOB_QUOTA_EXCEEDED); the platform's defaults, 10 MiB, 1 GiB
   * and 100 000, unless given.
   */
  static async open(options = {}) {
    const SQL = await sqlite();
    const p = new TestPlatform(options, new SQL.Database());
    for (const file of options.migrations === undefined ? [] : migrationFiles(options.migrations)) {
      p.db.exec(readFileSync(file, "utf8"));
    }
    return p;
  }

  constructor(options, database) {
    const { user, scopes = [], kind, claims, tenant = "test", config = {}, maxCalls = 10, clientLeavesAfter } = options;
    const { maxBlobBytes, blobQuotaBytes, maxBlobObjects } = options;
    const who = kind ?? (user !== undefined || scopes.length ? "api-key" : "anonymous");
    STATE.reset();
    STATE.caller = {
      kind: who,
      tenant,
      userId: user,
      keyId: who === "api-key" ? "test_key" : undefined,
      scopes: [...scopes],
      claimsJson: claims === undefined ? undefined : JSON.stringify(claims),
    };
    STATE.config = new Map(Object.entries(config));
    STATE.maxCalls = maxCalls;
    STATE.clientLeavesAfter = clientLeavesAfter ?? Infinity;
    STATE.maxBlobBytes = maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
    STATE.blobQuotaBytes = blobQuotaBytes ?? DEFAULT_BLOB_QUOTA_BYTES;
    STATE.maxBlobObjects = maxBlobObjects ?? DEFAULT_MAX_BLOB_OBJECTS;
    STATE.db = database;
    this.db = new TestDatabase(database);
  }

  /** Ends the test: the database is dropped and the stand-ins answer nothing. */
  close() {
    STATE.db?.close();
    STATE.reset();
  }

  /**
   * What `http.fetch(url, { method })` answers: `{ status, json | body,
   * headers }` (`chunks`, a list of strings or bytes, for one read piece by
   * piece), or `{ fail: "timeout" | "unreachable" }` for the platform's 503s.
   */
  mock(method, url, { status = 200, json, body, headers, chunks, fail } = {}) {
    const respond = () => {
      if (fail === "timeout") throw new ComponentError("timeout");
      if (fail !== undefined) throw new ComponentError("connection", `${url}: ${fail}`);
      const head = pairs(headers);
      let data = bytes(body);
      if (json !== undefined) {
        data = encoder.encode(JSON.stringify(json));
        head.push(["content-type", "application/json"]);
      }
      return { status, headers: head, chunks: chunks ? chunks.map(bytes) : [data] };
    };
    STATE.routes.push({ method: method.toUpperCase(), url, respond });
  }

  /** The outbound requests the handler made: `{ method, url, headers, body, timeoutMs }`. */
  get calls() {
    return [...STATE.calls];
  }

  /** The handler's log lines, as `[level, message]`. */
  get logs() {
    return [...STATE.logs];
  }

  /**
   * The objects stored, in key order, as a Map of key → `{ contentType, data }`.
   * Store fixtures with the SDK's `blobs.put` while the platform is open.
   */
  get blobs() {
    return new Map(
      [...STATE.blobs.keys()]
        .sort(compareKeys)
        .map((k) => [k, { contentType: STATE.blobs.get(k).contentType, data: STATE.blobs.get(k).data.slice() }]),
    );
  }

  /**
   * Calls `handler` (what `endpoint(…)` made) with one request, as the
   * platform would after its gate admitted it, and returns what the client
   * would get. `init`: `params` (the route's), `query`, `headers` (an object
   * or pairs), `json` or `body`, `requestId`.
   */
  async call(handler, method = "GET", path = "/", init = {}) {
    const { params = {}, query = {}, headers, json, body, requestId = "test-request" } = init;
    const head = pairs(headers).map(([k, v]) => [k.toLowerCase(), v]);
    let data = bytes(body);
    if (json !== undefined) {
      data = encoder.encode(JSON.stringify(json));
      if (!head.some(([k]) => k === "content-type")) head.push(["content-type", "application/json"]);
    }
    const raw = {
      method: method.toUpperCase(),
      path,
      params: Object.entries(params).map(([k, v]) => [k, String(v)]),
      query: pairs(query),
      headers: head,
      body: data,
      requestId,
    };
    STATE.streamHead = null;
    STATE.stream = [];
    let result;
    try {
      result = await handler.handle(raw);
    } catch (e) {
      if (!e || typeof e.kind !== "string" || !(e.kind in STATUS)) throw e;
      const [status, code] = STATUS[e.kind];
      const envelope = { success: false, error: e.message, code: e.code ?? code };
      if (e.details !== undefined) envelope.details = JSON.parse(e.details);
      envelope.requestId = requestId;
      return new TestResponse(status, [["content-type", "application/json"]], encoder.encode(JSON.stringify(envelope)));
    }
    if (STATE.streamHead) return streamed();
    return new TestResponse(result.status, [...result.headers], result.body);
  }
}

/** A streamed answer: the head `start` (or the first event) gave, and what was written. */
function streamed() {
  const { status, headers } = STATE.streamHead;
  const parts = [];
  const events = [];
  for (const item of STATE.stream) {
    if (item instanceof Uint8Array) {
      parts.push(item);
      continue;
    }
    events.push({ event: item.event, data: item.data, id: item.id });
    let text = item.event !== undefined ? `event: ${item.event}\n` : "";
    if (item.id !== undefined) text += `id: ${item.id}\n`;
    text += item.data
      .split("\n")
      .map((line) => `data: ${line}\n`)
      .join("");
    parts.push(encoder.encode(`${text}\n`));
  }
  return new TestResponse(status, [...headers], concat(parts), events);
}
