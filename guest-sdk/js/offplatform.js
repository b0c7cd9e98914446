// Stand-ins for the platform's bindings, for running a handler off the
// platform (a unit test under `node --test`). On the platform, componentize-js
// provides the `gatehouse:endpoint/*` modules gatehouse.js imports; off it,
// testing.js's loader hook (hooks.js) answers those imports with these
// objects, so every SDK call lands here and `TestPlatform` says what they
// answer. They keep the platform's shapes (componentize-js's: camelCase
// records, `{ tag, val }` variants, BigInt for s64, errors thrown with a
// `payload`) and failures: `?` parameters and the same error variants for
// the database (SQLite in memory, like the platform's own default), the same
// variants for refused or failing outbound calls.

/** A WIT `result` error, as componentize-js throws it: the variant is `payload`. */
export class ComponentError extends Error {
  constructor(tag, val) {
    super(`${tag}${val === undefined ? "" : `: ${val}`}`);
    this.payload = { tag, val };
  }
}

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
  config: ["config", ["get"]],
  db: ["db", ["query", "execute", "begin", "Transaction"]],
  "http-out": ["httpOut", ["fetch", "fetchStreaming", "IncomingBody"]],
  log: ["log", ["log"]],
  streaming: ["streaming", ["start", "write", "sendEvent"]],
};
