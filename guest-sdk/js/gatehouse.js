// Gatehouse SDK for JavaScript (and TypeScript) endpoints.
//
// Export a handler made with `endpoint`, and `gatehouse build` (or `gatehouse
// serve`) turns the folder's index.js (or index.ts) into a WebAssembly
// component with componentize-js:
//
//   import { endpoint, jsonResponse } from "./gatehouse.js";
//   export const handler = endpoint((req) => jsonResponse({ message: `Hello ${req.query("name") ?? "World"}` }));
//
// Errors are thrown: throw an `HttpError` (`new NotFound("…")`, or a helper
// such as `notFound(…)`) and the platform answers with its error envelope.
// Database, object storage, outbound-HTTP and stream failures become
// `HttpError`s with the same codes as the Rust and Python SDKs (DB_CONSTRAINT,
// BLOB_INVALID, UPSTREAM_TIMEOUT, …; guest-sdk/capability-errors.json). Any
// other exception is a bug: its stack is logged and the client gets 500
// GUEST_TRAP, as for a Rust panic or an uncaught Python exception.
//
// Calls that wait on the platform are async: `await db.query(…)`,
// `await blobs.get(…)`, `await http.fetch(…)` (a WHATWG-like response: `ok`,
// `status`, `headers.get`, `await res.json()`). Nothing here shadows a WHATWG
// global: the request an endpoint gets is an `EndpointRequest`, fetch lives at
// `http.fetch`, and a stored object is a plain record, not a `Blob`. Types:
// gatehouse.d.ts.
//
// gatehouse.js is put beside index.js when the endpoint is built; it is not
// part of the endpoint's folder.

import * as witAuth from "gatehouse:endpoint/auth@0.1.0";
import * as witBlobs from "gatehouse:endpoint/blobs@0.1.0";
import * as witConfig from "gatehouse:endpoint/config@0.1.0";
import * as witDb from "gatehouse:endpoint/db@0.1.0";
import * as witHttp from "gatehouse:endpoint/http-out@0.1.0";
import * as witLog from "gatehouse:endpoint/log@0.1.0";
import * as witStream from "gatehouse:endpoint/streaming@0.1.0";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------------------- requests

/** One request, already admitted by the platform's gate. */
export class EndpointRequest {
  constructor(raw) {
    this.method = raw.method;
    this.path = raw.path;
    this.body = raw.body;
    this.requestId = raw.requestId;
    this.params = Object.fromEntries(raw.params);
    this.headers = raw.headers;
    this._query = raw.query;
  }
  /** A route parameter, e.g. `id` for `/api/posts/{id}`. */
  param(name) {
    return this.params[name];
  }
  /** The first value of a query parameter. */
  query(name) {
    const found = this._query.find(([k]) => k === name);
    return found ? found[1] : undefined;
  }
  /** Every value of a query parameter. */
  queryAll(name) {
    return this._query.filter(([k]) => k === name).map(([, v]) => v);
  }
  /** The first value of a header (case-insensitive). */
  header(name) {
    const lower = name.toLowerCase();
    const found = this.headers.find(([k]) => k === lower);
    return found ? found[1] : undefined;
  }
  /** The body as text. */
  text() {
    return decoder.decode(this.body);
  }
  /** The body parsed as JSON; 400 INVALID_JSON if it does not parse. */
  json() {
    if (this.body.length === 0) throw badRequest("the request body is empty; send a JSON document");
    try {
      return JSON.parse(this.text());
    } catch (e) {
      throw badRequest(`the request body is not valid JSON: ${e.message}`, "INVALID_JSON");
    }
  }
  /**
   * The parts of a `multipart/form-data` body, `{ name, fileName, contentType, data }`
   * each (the platform has already enforced the endpoint's upload policy); 400 if it is not one.
   */
  multipart() {
    const ct = this.header("content-type") ?? "";
    const boundary = ct
      .split(";")
      .map((p) => p.trim())
      .find((p) => p.startsWith("boundary="))
      ?.slice("boundary=".length)
      .replace(/^"|"$/g, "");
    if (!boundary || !ct.toLowerCase().startsWith("multipart/form-data")) {
      throw badRequest("send Content-Type: multipart/form-data with a boundary");
    }
    return parseMultipart(this.body, boundary);
  }
}

function indexOf(hay, needle, from) {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function parseMultipart(body, boundary) {
  const malformed = () => badRequest("the multipart body is malformed");
  const delimiter = encoder.encode(`--${boundary}`);
  const next = encoder.encode(`\r\n--${boundary}`);
  let pos = indexOf(body, delimiter, 0);
  if (pos < 0) throw malformed();
  pos += delimiter.length;
  const parts = [];
  while (!(body[pos] === 45 && body[pos + 1] === 45)) {
    pos += 2; // the CRLF after a delimiter
    const headersEnd = indexOf(body, encoder.encode("\r\n\r\n"), pos);
    if (headersEnd < 0) throw malformed();
    const dataEnd = indexOf(body, next, headersEnd + 4);
    if (dataEnd < 0) throw malformed();
    const part = { name: "", fileName: undefined, contentType: undefined, data: body.slice(headersEnd + 4, dataEnd) };
    for (const line of decoder.decode(body.slice(pos, headersEnd)).split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1);
      if (key === "content-disposition") {
        for (const attr of value.split(";").map((a) => a.trim())) {
          if (attr.startsWith("name=")) part.name = attr.slice(5).replace(/^"|"$/g, "");
          else if (attr.startsWith("filename=")) part.fileName = attr.slice(9).replace(/^"|"$/g, "");
        }
      } else if (key === "content-type") {
        part.contentType = value.trim();
      }
    }
    parts.push(part);
    pos = dataEnd + next.length;
  }
  return parts;
}

/** A whole response. */
export function response(status, body = new Uint8Array(), headers = []) {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  return { status, headers, body: bytes };
}

function jsonText(value) {
  // 64-bit integers from the database arrive as BigInt.
  return JSON.stringify(value === undefined ? null : value, (_, v) =>
    typeof v === "bigint" ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v,
  );
}

/** `200 {"success": true, "data": data}`. */
export function ok(data, status = 200) {
  return response(status, `{"success":true,"data":${jsonText(data)}}`, [["content-type", "application/json"]]);
}

/** `value` as the whole JSON body, without the envelope (for answers a client
 * already expects in another shape, like `{"message": "Hello World"}`). */
export function jsonResponse(value, status = 200) {
  return response(status, jsonText(value), [["content-type", "application/json"]]);
}

/** `201 {"success": true, "data": data}`. */
export function created(data) {
  return ok(data, 201);
}

// ---------------------------------------------------------------------------- errors

const KINDS = [
  "bad-request", "validation-failed", "unauthorized", "forbidden", "not-found", "conflict",
  "payload-too-large", "unsupported-media-type", "unprocessable", "too-many-requests", "internal", "unavailable",
];

/** A failure rendered as the platform's envelope. */
export class HttpError extends Error {
  constructor(kind, message, code, details) {
    super(message);
    if (!KINDS.includes(kind)) throw new TypeError(`unknown error kind ${kind}`);
    this.kind = kind;
    this.code = code;
    this.details = details;
  }
  withCode(code) {
    this.code = code;
    return this;
  }
  toWit() {
    return {
      kind: this.kind,
      message: this.message,
      code: this.code,
      details: this.details === undefined ? undefined : jsonText(this.details),
    };
  }
}

/** An `HttpError` of one kind: `new NotFound("no such post")`. */
class KindError extends HttpError {
  constructor(message, code, details) {
    super(new.target.kind, message, code, details);
  }
}
export class BadRequest extends KindError {
  static kind = "bad-request";
}
export class ValidationFailed extends HttpError {
  constructor(details, message = "the request is not valid", code) {
    super("validation-failed", message, code, details);
  }
}
export class Unauthorized extends KindError {
  static kind = "unauthorized";
}
export class Forbidden extends KindError {
  static kind = "forbidden";
}
export class NotFound extends KindError {
  static kind = "not-found";
}
export class Conflict extends KindError {
  static kind = "conflict";
}
export class PayloadTooLarge extends KindError {
  static kind = "payload-too-large";
}
export class UnsupportedMediaType extends KindError {
  static kind = "unsupported-media-type";
}
export class Unprocessable extends KindError {
  static kind = "unprocessable";
}
export class TooManyRequests extends KindError {
  static kind = "too-many-requests";
}
export class Internal extends KindError {
  static kind = "internal";
}
export class Unavailable extends KindError {
  static kind = "unavailable";
}

export const badRequest = (m, code) => new HttpError("bad-request", m, code);
export const validationFailed = (details, m = "the request is not valid") =>
  new HttpError("validation-failed", m, undefined, details);
export const unauthorized = (m, code) => new HttpError("unauthorized", m, code);
export const forbidden = (m, code) => new HttpError("forbidden", m, code);
export const notFound = (m, code) => new HttpError("not-found", m, code);
export const conflict = (m, code) => new HttpError("conflict", m, code);
export const unprocessable = (m, code) => new HttpError("unprocessable", m, code);
export const internal = (m, code) => new HttpError("internal", m, code);
export const unavailable = (m, code) => new HttpError("unavailable", m, code);

// ---------------------------------------------------------------------------- the export

/**
 * The endpoint's handler: `fn(req)` returns a response (from `ok`, `response`…)
 * or any JSON value (sent as `ok(value)`), or throws.
 */
export function endpoint(fn) {
  return {
    async handle(raw) {
      let result;
      try {
        result = await fn(new EndpointRequest(raw));
      } catch (e) {
        if (e instanceof HttpError) throw e.toWit();
        // A bug, like a Rust panic or an uncaught Python exception: the same
        // 500 GUEST_TRAP and message the platform gives a trapped guest, and
        // the stack in the log.
        // SpiderMonkey's `stack` holds the frames only: the message comes first.
        witLog.log("error", `unhandled exception: ${e}${e && e.stack ? `\n${e.stack}` : ""}`);
        throw {
          kind: "internal",
          message: "the endpoint crashed while handling the request; its log has the details",
          code: "GUEST_TRAP",
          details: undefined,
        };
      }
      if (result && typeof result.status === "number" && result.body instanceof Uint8Array) return result;
      return ok(result);
    },
  };
}

// ---------------------------------------------------------------------------- capabilities

/**
 * A capability's WIT error as the envelope the Rust SDK would give, by the
 * interface it came from (`db`, `blobs` or `http`): a case name alone is
 * ambiguous (`db` and `http` both have `timeout`). The table is guest-sdk/capability-errors.json's.
 */
function failure(e, iface) {
  const v = e && e.payload;
  if (!v || typeof v.tag !== "string") return e;
  const text = v.val;
  const tables = {
    db: {
      unavailable: ["unavailable", `the database is unavailable: ${text}`, "DB_UNAVAILABLE"],
      invalid: ["internal", `a database statement failed: ${text}`, "DB_ERROR"],
      constraint: ["conflict", `the change conflicts with existing data: ${text}`, "DB_CONSTRAINT"],
      denied: ["internal", `a database statement was refused: ${text}`, "DB_DENIED"],
      timeout: ["unavailable", "a database statement ran past its time limit", "DB_TIMEOUT"],
      "too-large": ["internal", `a database result is too large: ${text}`, "DB_RESULT_TOO_LARGE"],
    },
    http: {
      "not-allowed": ["internal", `an outbound call was refused: ${text}`, "OUTBOUND_NOT_ALLOWED"],
      "invalid-url": ["internal", `an outbound URL is invalid: ${text}`, "OUTBOUND_INVALID_URL"],
      "too-many-calls": ["internal", `this request made more than ${text} outbound calls`, "OUTBOUND_LIMIT"],
      "response-too-large": ["unavailable", `the upstream's answer is over ${text} bytes`, "UPSTREAM_RESPONSE_TOO_LARGE"],
      timeout: ["unavailable", "the upstream did not answer in time", "UPSTREAM_TIMEOUT"],
      connection: ["unavailable", `the upstream is unreachable: ${text}`, "UPSTREAM_UNAVAILABLE"],
    },
    blobs: {
      unavailable: ["unavailable", `object storage is unavailable: ${text}`, "BLOBS_UNAVAILABLE"],
      invalid: ["internal", `an object storage call was refused: ${text}`, "BLOB_INVALID"],
      "quota-exceeded": ["payload-too-large", `the tenant's object storage quota is used up: ${text}`, "BLOB_QUOTA_EXCEEDED"],
      "too-large": ["payload-too-large", `the object is too large: ${text}`, "BLOB_TOO_LARGE"],
    },
  };
  const [kind, message, code] = tables[iface][v.tag] ?? ["internal", `a platform call failed: ${v.tag}`, "PLATFORM_ERROR"];
  return new HttpError(kind, message, code);
}

/** Calls `f` of interface `iface`, throwing its WIT error as an `HttpError`. */
function call(iface, f, ...args) {
  try {
    return f(...args);
  } catch (e) {
    throw failure(e, iface);
  }
}

/** Who is calling, as the platform's gate established it. */
export const auth = {
  /** The caller: `kind` is "api-key", "session" or "anonymous". */
  current() {
    const c = witAuth.current();
    return {
      kind: c.kind,
      tenant: c.tenant,
      userId: c.userId,
      keyId: c.keyId,
      scopes: c.scopes,
      claims: c.claimsJson ? JSON.parse(c.claimsJson) : {},
      hasScope: (scope) => c.scopes.includes(scope),
      isAuthenticated: () => c.kind !== "anonymous",
    };
  },
  /** Whether the current caller holds `scope`. */
  hasScope: (scope) => witAuth.current().scopes.includes(scope),
  /** Whether the current caller authenticated. */
  isAuthenticated: () => witAuth.current().kind !== "anonymous",
};

/** Variables and granted secrets. */
export const config = {
  get: (name) => witConfig.get(name),
};

function toValue(v) {
  if (v === null || v === undefined) return { tag: "null" };
  if (typeof v === "boolean") return { tag: "boolean", val: v };
  if (typeof v === "bigint") return { tag: "integer", val: v };
  if (typeof v === "number") return Number.isInteger(v) ? { tag: "integer", val: BigInt(v) } : { tag: "real", val: v };
  if (typeof v === "string") return { tag: "text", val: v };
  if (v instanceof Uint8Array) return { tag: "blob", val: v };
  return { tag: "json", val: jsonText(v) };
}

function fromValue(v) {
  switch (v.tag) {
    case "null":
      return null;
    case "integer":
      return Number.isSafeInteger(Number(v.val)) ? Number(v.val) : v.val;
    case "json":
      return JSON.parse(v.val);
    default:
      return v.val;
  }
}

function rows(r) {
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, fromValue(row[i])])));
}

/**
 * The tenant's database: `?` placeholders, JS values as parameters, rows as
 * objects. Every call is async: `const rows = await db.query(…)`.
 */
export const db = {
  /** Rows as objects by column name. */
  query: async (sql, ...params) => rows(call("db", witDb.query, sql, params.map(toValue))),
  /** Rows changed. */
  execute: async (sql, ...params) => Number(call("db", witDb.execute, sql, params.map(toValue))),
  /**
   * Runs `fn(tx)` in one transaction: committed if it returns, rolled back if
   * it throws (or the guest traps). A statement the database refuses leaves it usable.
   */
  async transaction(fn) {
    const tx = call("db", witDb.begin);
    const handle = {
      query: async (sql, ...params) => rows(call("db", (...a) => tx.query(...a), sql, params.map(toValue))),
      execute: async (sql, ...params) => Number(call("db", (...a) => tx.execute(...a), sql, params.map(toValue))),
    };
    let result;
    try {
      result = await fn(handle);
    } catch (e) {
      try {
        witDb.Transaction.rollback(tx);
      } catch (_) {
        // The first error is the one to report.
      }
      throw e;
    }
    call("db", witDb.Transaction.commit, tx);
    return result;
  },
};

/** An object's description with plain numbers (the WIT's u64s arrive as BigInt). */
function objectInfo(i) {
  return { key: i.key, contentType: i.contentType, size: Number(i.size), modifiedMs: Number(i.modifiedMs) };
}

function blobBytes(data) {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("blobs.put takes a string, a Uint8Array or an ArrayBuffer");
}

/**
 * The tenant's object storage: bytes under keys such as `uploads/u1/cat.png`,
 * each with its content type. A key is 1 to 1024 bytes of UTF-8 in segments
 * separated by `/`: no leading `/`, no empty, `.` or `..` segment, no control
 * characters or backslash. Every call is async: `await blobs.get(…)`.
 */
export const blobs = {
  /**
   * Stores `data` (a string as UTF-8, a Uint8Array or an ArrayBuffer) under
   * `key`, replacing what was there; an empty content type is stored as
   * `application/octet-stream`. Returns `{ key, contentType, size, modifiedMs }`.
   */
  put: async (key, data, contentType = "application/octet-stream") =>
    objectInfo(call("blobs", witBlobs.put, key, contentType, blobBytes(data))),
  /** The object under `key`, `{ key, contentType, size, modifiedMs, data, text() }`, or null. */
  async get(key) {
    const found = call("blobs", witBlobs.get, key);
    if (found === undefined || found === null) return null;
    const data = found.data;
    return { ...objectInfo(found.info), data, text: () => decoder.decode(data) };
  },
  /** What is stored under `key`, without its bytes, or null. */
  async head(key) {
    const found = call("blobs", witBlobs.head, key);
    return found === undefined || found === null ? null : objectInfo(found);
  },
  /** Removes the object under `key`; whether there was one. */
  delete: async (key) => call("blobs", witBlobs.delete, key),
  /**
   * Objects whose keys start with `prefix`, in key order, after the key
   * `after` if given; at most `limit` (1 to 1000). `next` is the `after` of
   * the next page, null on the last.
   */
  async list({ prefix = "", after, limit = 100 } = {}) {
    const page = call("blobs", witBlobs.list, prefix, after ?? undefined, limit);
    return { objects: page.objects.map(objectInfo), next: page.next ?? null };
  },
  /**
   * A URL anyone holding it may fetch the object from (with its content
   * type) for `expiresIn` seconds, at most the platform's `blobs.max_url_expiry`.
   */
  signedUrl: async (key, expiresIn = 3600) => call("blobs", witBlobs.signedUrl, key, expiresIn),
};

/** Response headers, read like WHATWG `Headers`: `get`, `has`, iteration. */
class ResponseHeaders {
  constructor(pairs) {
    this._pairs = pairs.map(([k, v]) => [k.toLowerCase(), v]);
  }
  /** The values of `name` joined with ", ", or null. */
  get(name) {
    const values = this._pairs.filter(([k]) => k === name.toLowerCase()).map(([, v]) => v);
    return values.length ? values.join(", ") : null;
  }
  has(name) {
    return this._pairs.some(([k]) => k === name.toLowerCase());
  }
  entries() {
    return this._pairs[Symbol.iterator]();
  }
  [Symbol.iterator]() {
    return this.entries();
  }
}

function invalidJson(e) {
  return new HttpError(
    "unavailable",
    `the upstream answered with JSON this endpoint cannot read: ${e.message}`,
    "UPSTREAM_INVALID_RESPONSE",
  );
}

/** An upstream's whole answer, shaped like a WHATWG `Response`. */
export class FetchResponse {
  constructor(r) {
    this.status = r.status;
    this.ok = r.status >= 200 && r.status < 300;
    this.headers = new ResponseHeaders(r.headers);
    this._body = r.body;
  }
  async arrayBuffer() {
    return this._body.buffer.slice(this._body.byteOffset, this._body.byteOffset + this._body.byteLength);
  }
  async bytes() {
    return this._body;
  }
  async text() {
    return decoder.decode(this._body);
  }
  /** The body as JSON; 503 UPSTREAM_INVALID_RESPONSE if it is not. */
  async json() {
    try {
      return JSON.parse(decoder.decode(this._body));
    } catch (e) {
      throw invalidJson(e);
    }
  }
}

/** An upstream's answer whose body is read as it arrives. */
export class StreamingResponse {
  constructor(r) {
    this.status = r.status;
    this.ok = r.status >= 200 && r.status < 300;
    this.headers = new ResponseHeaders(r.headers);
    this._body = r.body;
  }
  /** The next chunk of the body (at most 64 KiB), or null at its end. */
  async read() {
    const chunk = call("http", (n) => this._body.read(n), 64 * 1024);
    return chunk ?? null;
  }
  /** The body as server-sent events, `{ event, data }`, each as soon as it is complete. */
  async *events() {
    let buffer = "";
    let done = false;
    for (;;) {
      buffer = buffer.replaceAll("\r\n", "\n");
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event;
        const lines = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) lines.push(line.slice(5).replace(/^ /, ""));
        }
        if (lines.length || event !== undefined) yield { event, data: lines.join("\n") };
        continue;
      }
      if (done) return;
      const chunk = await this.read();
      if (chunk === null) {
        done = true;
        if (buffer.trim()) buffer += "\n\n";
      } else {
        buffer += decoder.decode(chunk, { stream: true });
      }
    }
  }
}

function outgoing(url, { method = "GET", headers = [], body, json, timeoutMs } = {}) {
  let h = Array.isArray(headers) ? headers : Object.entries(headers);
  let b = body;
  if (json !== undefined) {
    b = jsonText(json);
    h = [...h, ["content-type", "application/json"]];
  }
  if (typeof b === "string") b = encoder.encode(b);
  return { method: method.toUpperCase(), url, headers: h, body: b, timeoutMs };
}

/**
 * Outbound HTTP, to the endpoint's `allowed_hosts` only. `init` is like
 * fetch's (`method`, `headers` as an object or pairs, `body`), plus `json`
 * (a value sent as JSON) and `timeoutMs`.
 */
export const http = {
  /** Sends a request and reads the whole answer: `const res = await http.fetch(url)`. */
  fetch: async (url, init) => new FetchResponse(call("http", witHttp.fetch, outgoing(url, init))),
  /** Returns as soon as the answer's head arrives; read it with `read()` or `events()`. */
  fetchStream: async (url, init) =>
    new StreamingResponse(call("http", witHttp.fetchStreaming, outgoing(url, init))),
};

/** Thrown by `stream` calls once the client has left. */
export class StreamClosed extends Error {}

function streamCall(f, ...args) {
  try {
    return f(...args);
  } catch (e) {
    if (e && e.payload && e.payload.tag === "closed") throw new StreamClosed("the client left");
    throw new HttpError("internal", `the response stream failed: ${e && e.payload ? e.payload.tag : e}`, "STREAM_ERROR");
  }
}

/** Streaming responses: server-sent events, or raw chunks after `start`. */
export const stream = {
  start: (status = 200, headers = []) => streamCall(witStream.start, status, headers),
  write: (chunk) => streamCall(witStream.write, typeof chunk === "string" ? encoder.encode(chunk) : chunk),
  /** One SSE event; data that is not a string is sent as JSON. Throws `StreamClosed` once the client left. */
  sendEvent(data, { event, id, retryMs } = {}) {
    const text = typeof data === "string" ? data : jsonText(data);
    streamCall(witStream.sendEvent, { event, data: text, id, retryMs });
  },
};

/** Lines in the platform log, with tenant, route and request id. */
export const log = {
  debug: (m) => witLog.log("debug", m),
  info: (m) => witLog.log("info", m),
  warn: (m) => witLog.log("warn", m),
  error: (m) => witLog.log("error", m),
};

/** Sleeps (a guest may wait, e.g. between events); counts against the wall-time budget only. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
