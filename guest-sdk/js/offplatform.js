// Stand-ins for the platform's bindings, for running a handler off the
// platform (a unit test under `node --test`). On the platform, componentize-js
// provides the `gatehouse:endpoint/*` modules gatehouse.js imports; off it,
// testing.js's loader hook (hooks.js) answers those imports with these
// objects, so every SDK call lands here and `TestPlatform` says what they
// answer. They keep the platform's shapes (componentize-js's: camelCase
// records, `{ tag, val }` variants, BigInt for s64 and u64, undefined for an
// absent option, errors thrown with a `payload`) and failures: `?` parameters
// and the same error variants for the database (SQLite in memory, like the
// platform's own default), the same variants for refused or failing outbound
// calls, and object storage in memory with the platform's key rules.

/** A WIT `result` error, as componentize-js throws it: the variant is `payload`. */
export class ComponentError extends Error {
  constructor(tag, val) {
    super(`${tag}${val === undefined ? "" : `: ${val}`}`);
    this.payload = { tag, val };
  }
}

/** The platform's rules for object storage calls, and its default limits. */
export const MAX_KEY_BYTES = 1024;
export const MAX_CONTENT_TYPE_BYTES = 255;
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";
export const MAX_LIST_LIMIT = 1000;
export const MAX_URL_EXPIRY = 7 * 86_400;
export const DEFAULT_MAX_BLOB_BYTES = 10 * 2 ** 20;
export const DEFAULT_BLOB_QUOTA_BYTES = 1024 * 2 ** 20;
export const DEFAULT_MAX_BLOB_OBJECTS = 100_000;

/** What the stand-ins answer; `TestPlatform` sets it. One test at a time. */
export const STATE = {
  reset() {
    this.caller = { kind: "anonymous", tenant: "test", userId: undefined, keyId: undefined, scopes: [], claimsJson: undefined };
    this.config = new Map();
    this.db = null;
    this.routes = [];
    this.calls = [];
    this.maxCalls = 10;
    this.logs = [];
    this.streamHead = null;
    this.stream = [];
    this.clientLeavesAfter = Infinity;
    /** Object storage: key → `{ contentType, data, modifiedMs }`. */
    this.blobs = new Map();
    this.maxBlobBytes = DEFAULT_MAX_BLOB_BYTES;
    this.blobQuotaBytes = DEFAULT_BLOB_QUOTA_BYTES;
    this.maxBlobObjects = DEFAULT_MAX_BLOB_OBJECTS;
  },
};
STATE.reset();

// ---------------------------------------------------------------------------- auth, config, log

export const auth = {
  current: () => STATE.caller,
};

export const config = {
  get: (name) => STATE.config.get(name),
};

export const log = {
  log: (level, message) => {
    STATE.logs.push([level, message]);
  },
};

// ---------------------------------------------------------------------------- db

function toSql(v) {
  switch (v.tag) {
    case "null":
      return null;
    case "integer":
      return Number.isSafeInteger(Number(v.val)) ? Number(v.val) : v.val;
    case "boolean":
      return v.val ? 1 : 0;
    default:
      return v.val;
  }
}

function fromSql(v) {
  if (v === null || v === undefined) return { tag: "null" };
  if (typeof v === "number") return Number.isInteger(v) ? { tag: "integer", val: BigInt(v) } : { tag: "real", val: v };
  if (typeof v === "bigint") return { tag: "integer", val: v };
  if (v instanceof Uint8Array) return { tag: "blob", val: v };
  return { tag: "text", val: String(v) };
}

function connection() {
  if (!STATE.db) throw new ComponentError("unavailable", "no database: open a TestPlatform (with its migrations) first");
  return STATE.db;
}

/** Runs one statement; `each(row)` gets each row. A constraint is `constraint`, anything else `invalid`. */
function run(sql, params, each) {
  const conn = connection();
  let stmt;
  try {
    stmt = conn.prepare(sql);
    stmt.bind(params.map(toSql));
    const columns = stmt.getColumnNames();
    while (stmt.step()) each?.(stmt.get());
    return columns;
  } catch (e) {
    if (e instanceof ComponentError) throw e;
    const message = e && e.message ? e.message : String(e);
    throw new ComponentError(/constraint failed/i.test(message) ? "constraint" : "invalid", message);
  } finally {
    stmt?.free();
  }
}

function query(sql, params) {
  const rows = [];
  const columns = run(sql, params, (row) => rows.push(row.map(fromSql)));
  // As on the platform: no rows, no column names.
  return { columns: rows.length ? columns : [], rows };
}

function execute(sql, params) {
  run(sql, params);
  return BigInt(connection().getRowsModified());
}

let savepoints = 0;

/** A transaction on the one in-memory database (savepoints, so they nest). */
class Transaction {
  constructor() {
    this.name = `tx${++savepoints}`;
    run(`SAVEPOINT ${this.name}`, []);
  }
  query(sql, params) {
    return query(sql, params);
  }
  execute(sql, params) {
    return execute(sql, params);
  }
  static commit(tx) {
    run(`RELEASE ${tx.name}`, []);
  }
  static rollback(tx) {
    run(`ROLLBACK TO ${tx.name}`, []);
    run(`RELEASE ${tx.name}`, []);
  }
}

export const db = {
  query,
  execute,
  begin: () => new Transaction(),
  Transaction,
};

// ---------------------------------------------------------------------------- http-out

class IncomingBody {
  constructor(chunks) {
    this.chunks = [...chunks];
  }
  read(max) {
    if (!this.chunks.length) return undefined;
    const chunk = this.chunks.shift();
    if (chunk.length > max) {
      this.chunks.unshift(chunk.subarray(max));
      return chunk.subarray(0, max);
    }
    return chunk;
  }
}

function answer(request) {
  if (STATE.calls.length >= STATE.maxCalls) throw new ComponentError("too-many-calls", STATE.maxCalls);
  STATE.calls.push(request);
  const route = STATE.routes.find((r) => r.method === request.method && r.url === request.url);
  if (!route) throw new ComponentError("not-allowed", `${request.method} ${request.url} is not mocked in this test`);
  return route.respond(request);
}

/** The chunks as one `Uint8Array`. */
export function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export const httpOut = {
  fetch(request) {
    const { status, headers, chunks } = answer(request);
    return { status, headers, body: concat(chunks) };
  },
  fetchStreaming(request) {
    const { status, headers, chunks } = answer(request);
    return { status, headers, body: new IncomingBody(chunks) };
  },
  IncomingBody,
};

// ---------------------------------------------------------------------------- blobs

const utf8 = new TextEncoder();
/** What a signed URL's path escapes in a key besides controls and non-ASCII bytes, as the platform does. */
const URL_ESCAPED = new Set(utf8.encode(" \"#%<>?`{}+&=;'[]^|"));
const TOKEN = /^[A-Za-z0-9!#$&\-^_.+]+$/;

function textProblem(text, what) {
  const size = utf8.encode(text).length;
  if (size > MAX_KEY_BYTES) return `${what} may be at most ${MAX_KEY_BYTES} bytes; this one is ${size}`;
  const refused = (ch) => {
    const c = ch.codePointAt(0);
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || ch === "\\";
  };
  if ([...text].some(refused)) return `${what} may not hold control characters or \`\\\`: ${JSON.stringify(text)}`;
  return undefined;
}

/** Why `key` is not an object key the platform takes, or undefined if it is. */
export function keyProblem(key) {
  if (key === "") return "a key may not be empty";
  const problem = textProblem(key, "a key");
  if (problem !== undefined) return problem;
  if (key.startsWith("/")) return `key \`${key}\` starts with \`/\`: keys are relative, like \`uploads/cat.png\``;
  for (const segment of key.split("/")) {
    if (segment === "") return `key \`${key}\` has an empty segment (\`//\` or a trailing \`/\`)`;
    if (segment === "." || segment === "..") return `key \`${key}\` has a \`${segment}\` segment`;
  }
  return undefined;
}

/** Why `prefix` (or a listing's `after`) is refused: any start of a valid key may be given. */
export function prefixProblem(prefix) {
  if (prefix === "") return undefined;
  const problem = textProblem(prefix, "a prefix");
  if (problem !== undefined) return problem;
  if (prefix.startsWith("/")) return `prefix \`${prefix}\` starts with \`/\`: keys are relative`;
  return undefined;
}

/** Why a content type is refused: it must look like `image/png` (parameters allowed), printable ASCII. */
export function contentTypeProblem(given) {
  const trimmed = given.trim();
  if (trimmed === "") return undefined;
  const essence = trimmed.split(";")[0].trim();
  const slash = essence.indexOf("/");
  const shaped = slash >= 0 && TOKEN.test(essence.slice(0, slash)) && TOKEN.test(essence.slice(slash + 1));
  const printable = /^[\x20-\x7e]*$/.test(trimmed);
  if (trimmed.length > MAX_CONTENT_TYPE_BYTES || !printable || !shaped) {
    const most = `at most ${MAX_CONTENT_TYPE_BYTES} characters`;
    return `${JSON.stringify(trimmed)} is not a content type: write it like \`image/png\` (${most})`;
  }
  return undefined;
}

/** A key as a URL path after `/_blobs/`: each byte outside the kept ASCII as `%XX`. */
export function urlPath(key) {
  let out = "";
  for (const b of utf8.encode(key)) {
    const kept = b > 0x20 && b < 0x7f && !URL_ESCAPED.has(b);
    out += kept ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Keys in the platform's order: by their UTF-8 bytes (that is, code points), not UTF-16 units. */
export function compareKeys(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function refuse(problem) {
  if (problem !== undefined) throw new ComponentError("invalid", problem);
}

function objectInfo(key) {
  const { contentType, data, modifiedMs } = STATE.blobs.get(key);
  return { key, contentType, size: BigInt(data.length), modifiedMs: BigInt(modifiedMs) };
}

export const blobs = {
  put(key, contentType, data) {
    refuse(keyProblem(key));
    refuse(contentTypeProblem(contentType));
    const bytes = new Uint8Array(data);
    if (bytes.length > STATE.maxBlobBytes) {
      throw new ComponentError(
        "too-large",
        `${bytes.length} bytes, over the largest object of ${STATE.maxBlobBytes} bytes (blobs.max_object_mb)`,
      );
    }
    // As on the platform, an object being replaced counts until the new one is stored.
    let used = 0;
    for (const o of STATE.blobs.values()) used += o.data.length;
    if (used + bytes.length > STATE.blobQuotaBytes) {
      throw new ComponentError(
        "quota-exceeded",
        `${used} of ${STATE.blobQuotaBytes} bytes used; this object needs ${bytes.length} more`,
      );
    }
    if (STATE.blobs.size + 1 > STATE.maxBlobObjects) {
      throw new ComponentError(
        "quota-exceeded",
        `${STATE.maxBlobObjects} objects stored, the most a tenant may keep (blobs.max_objects)`,
      );
    }
    const stored = contentType.trim() || DEFAULT_CONTENT_TYPE;
    STATE.blobs.set(key, { contentType: stored, data: bytes, modifiedMs: Date.now() });
    return objectInfo(key);
  },
  get(key) {
    refuse(keyProblem(key));
    return STATE.blobs.has(key) ? { info: objectInfo(key), data: STATE.blobs.get(key).data.slice() } : undefined;
  },
  head(key) {
    refuse(keyProblem(key));
    return STATE.blobs.has(key) ? objectInfo(key) : undefined;
  },
  delete(key) {
    refuse(keyProblem(key));
    return STATE.blobs.delete(key);
  },
  list(prefix, after, limit) {
    refuse(prefixProblem(prefix));
    if (after !== undefined) refuse(prefixProblem(after));
    if (!(limit >= 1 && limit <= MAX_LIST_LIMIT)) {
      refuse(`limit must be between 1 and ${MAX_LIST_LIMIT}; it is ${limit}`);
    }
    const keys = [...STATE.blobs.keys()]
      .filter((k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0))
      .sort(compareKeys);
    const page = keys.slice(0, limit);
    return { objects: page.map(objectInfo), next: keys.length > limit ? page[page.length - 1] : undefined };
  },
  signedUrl(key, expiresInSeconds) {
    refuse(keyProblem(key));
    if (!(expiresInSeconds >= 1 && expiresInSeconds <= MAX_URL_EXPIRY)) {
      const most = `between 1 and ${MAX_URL_EXPIRY} seconds (blobs.max_url_expiry)`;
      refuse(`a signed URL may be valid ${most}; asked for ${expiresInSeconds}`);
    }
    const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
    return `https://blobs.test/_blobs/${urlPath(key)}?expires=${expires}&signature=offplatform`;
  },
};

// ---------------------------------------------------------------------------- streaming

function sent() {
  return STATE.stream.filter((item) => !(item instanceof Uint8Array)).length;
}

function checkOpen() {
  if (sent() >= STATE.clientLeavesAfter) throw new ComponentError("closed");
}

export const streaming = {
  start(status, headers) {
    checkOpen();
    if (STATE.streamHead) throw new ComponentError("already-started");
    STATE.streamHead = { status, headers };
  },
  write(bytes) {
    checkOpen();
    STATE.streamHead ??= { status: 200, headers: [] };
    STATE.stream.push(new Uint8Array(bytes));
  },
  sendEvent(event) {
    checkOpen();
    STATE.streamHead ??= { status: 200, headers: [["content-type", "text/event-stream"]] };
    STATE.stream.push({ ...event });
  },
};

/** The names each `gatehouse:endpoint/*` interface exports, for hooks.js. */
export const INTERFACES = {
  auth: ["auth", ["current"]],
  blobs: ["blobs", ["put", "get", "head", "delete", "list", "signedUrl"]],
  config: ["config", ["get"]],
  db: ["db", ["query", "execute", "begin", "Transaction"]],
  "http-out": ["httpOut", ["fetch", "fetchStreaming", "IncomingBody"]],
  log: ["log", ["log"]],
  streaming: ["streaming", ["start", "write", "sendEvent"]],
};
