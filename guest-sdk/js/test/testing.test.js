// `@gatehouse/sdk/testing` on real handlers (the posts and notifications
// examples, unchanged) and on small handlers for each capability: what an
// author's own tests look like. Run with `npm test` in guest-sdk/js (after
// `npm ci`), or `node --test guest-sdk/js/test/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { TestPlatform } from "../testing.js";

// After testing.js: its loader hook answers the examples' imports.
const { Conflict, blobs, config, db, endpoint, http, log, ok, stream } = await import("../gatehouse.js");
const posts = await import("../../../endpoints/js-posts/index.js");
const notifications = await import("../../../endpoints/js-notifications/index.js");

const MIGRATIONS = new URL("../../../endpoints/migrations/", import.meta.url);

/** Runs `body(p)` with a platform open, closing it whatever happens. */
async function withPlatform(options, body) {
  const p = await TestPlatform.open(options);
  try {
    await body(p);
  } finally {
    p.close();
  }
}

test("a caller creates, reads and deletes only its own post (the posts example)", async () => {
  await withPlatform({ user: "ada", scopes: ["write"], migrations: MIGRATIONS }, async (p) => {
    let r = await p.call(posts.handler, "POST", "/api/js/posts", { json: { title: "Hello", body: "first" } });
    assert.equal(r.status, 201, r.text());
    const post = r.json().data;
    assert.deepEqual([post.title, post.authorId, typeof post.id], ["Hello", "ada", "number"]);
    r = await p.call(posts.handler, "GET", `/api/js/posts/${post.id}`, { params: { id: post.id } });
    assert.equal(r.json().title, "Hello");
  });
  await withPlatform({ user: "bob", migrations: MIGRATIONS }, async (p) => {
    await p.db.execute("INSERT INTO posts (author_id, title, body) VALUES ('ada', 'Hers', '')");
    const r = await p.call(posts.handler, "DELETE", "/api/js/posts/1", { params: { id: "1" } });
    assert.equal(r.status, 403);
    assert.deepEqual(r.json(), { success: false, error: "Forbidden", code: "FORBIDDEN", requestId: "test-request" });
    assert.deepEqual(await p.db.query("SELECT title FROM posts"), [{ title: "Hers" }]);
  });
});

test("an unknown post is the documented 404 and anonymous writes are 401", async () => {
  await withPlatform({ migrations: MIGRATIONS }, async (p) => {
    let r = await p.call(posts.handler, "GET", "/api/js/posts/9", { params: { id: "9" } });
    assert.deepEqual([r.status, r.json().code, r.json().error], [404, "POST_NOT_FOUND", "Not found"]);
    r = await p.call(posts.handler, "POST", "/api/js/posts", { json: { title: "x" } });
    assert.equal(r.status, 401);
  });
});

test("the notifications example streams the documented events until the client leaves", async () => {
  await withPlatform({ user: "ada", migrations: MIGRATIONS, clientLeavesAfter: 2 }, async (p) => {
    await p.db.execute("INSERT INTO notifications (user_id, message) VALUES ('ada', 'hi'), ('bob', 'not yours')");
    const r = await p.call(notifications.handler, "GET", "/api/js/notifications/stream", { query: { intervalMs: "100" } });
    assert.equal(r.status, 200);
    assert.equal(r.header("content-type"), "text/event-stream");
    const [connected, update] = r.events.map((e) => JSON.parse(e.data));
    assert.deepEqual(connected, { type: "connected" });
    assert.equal(update.type, "notifications");
    assert.deepEqual(update.data.map((n) => n.message), ["hi"]);
    assert.ok(r.text().startsWith('data: {"type":"connected"}\n\n'), r.text());
    assert.deepEqual(p.logs, [["info", "notification stream for ada ended: the client left after 1 updates"]]);
  });
});

const weather = endpoint(async () => {
  const base = config.get("WEATHER_URL");
  log.info("asking the weather");
  const answer = await http.fetch(`${base}/today`, { headers: { accept: "application/json" } });
  return ok({ temp: (await answer.json()).temp, status: answer.status });
});

test("config, fetch and log are what the test says", async () => {
  await withPlatform({ config: { WEATHER_URL: "https://api.example.com" } }, async (p) => {
    p.mock("GET", "https://api.example.com/today", { json: { temp: 21 } });
    const r = await p.call(weather);
    assert.deepEqual(r.json(), { success: true, data: { temp: 21, status: 200 } });
    assert.deepEqual(p.calls.map((c) => [c.url, c.headers]), [["https://api.example.com/today", [["accept", "application/json"]]]]);
    assert.deepEqual(p.logs, [["info", "asking the weather"]]);
  });
});

test("an upstream that fails or is not mocked is the platform's failure", async () => {
  await withPlatform({ config: { WEATHER_URL: "https://api.example.com" } }, async (p) => {
    p.mock("GET", "https://api.example.com/today", { fail: "timeout" });
    const r = await p.call(weather);
    assert.deepEqual([r.status, r.json().code], [503, "UPSTREAM_TIMEOUT"]);
  });
  await withPlatform({ config: { WEATHER_URL: "https://elsewhere.example" } }, async (p) => {
    const r = await p.call(weather);
    assert.deepEqual([r.status, r.json().code], [500, "OUTBOUND_NOT_ALLOWED"]);
  });
});

const unique = endpoint(async (req) => {
  await db.execute("CREATE TABLE IF NOT EXISTS t (name TEXT UNIQUE)");
  await db.transaction(async (tx) => {
    await tx.execute("INSERT INTO t (name) VALUES (?)", req.query("name"));
  });
  return ok({ saved: (await db.query("SELECT COUNT(*) AS n FROM t"))[0].n });
});

test("a constraint is 409 DB_CONSTRAINT as on the platform, and the transaction rolls back", async () => {
  await withPlatform({}, async (p) => {
    assert.deepEqual((await p.call(unique, "GET", "/", { query: { name: "a" } })).json().data, { saved: 1 });
    const r = await p.call(unique, "GET", "/", { query: { name: "a" } });
    assert.deepEqual([r.status, r.json().code], [409, "DB_CONSTRAINT"]);
    assert.deepEqual(await p.db.query("SELECT COUNT(*) AS n FROM t"), [{ n: 1 }]);
    assert.ok(new Conflict("x") instanceof Error);
  });
});

const crashes = endpoint(() => {
  throw new TypeError("oops");
});

test("any other exception is the platform's 500 GUEST_TRAP, with its stack in the log", async () => {
  await withPlatform({}, async (p) => {
    const r = await p.call(crashes);
    assert.deepEqual([r.status, r.json().code], [500, "GUEST_TRAP"]);
    assert.match(p.logs[0][1], /unhandled exception: TypeError: oops/);
  });
});

const events = endpoint(() => {
  for (let n = 0; n < 3; n++) stream.sendEvent({ n });
  return ok(null);
});

test("a stream is recorded event by event", async () => {
  await withPlatform({}, async (p) => {
    const r = await p.call(events);
    assert.equal(r.header("content-type"), "text/event-stream");
    assert.deepEqual(r.events.map((e) => e.data), ['{"n":0}', '{"n":1}', '{"n":2}']);
    assert.ok(r.text().startsWith('data: {"n":0}\n\n'));
  });
});

// A small file store: PUT stores the body, GET reads one or lists a folder, DELETE removes.
const files = endpoint(async (req) => {
  const key = req.param("key") ?? "";
  if (req.method === "PUT") {
    const info = await blobs.put(key, req.body, req.header("content-type") ?? "");
    return ok(info);
  }
  if (req.method === "DELETE") return ok({ deleted: await blobs.delete(key) });
  if (key.endsWith("/")) {
    const page = await blobs.list({ prefix: key, after: req.query("after"), limit: Number(req.query("limit") ?? 100) });
    return ok({ keys: page.objects.map((o) => o.key), next: page.next });
  }
  const found = await blobs.get(key);
  if (found === null) return ok(null);
  const head = await blobs.head(key);
  const sameHead = head.modifiedMs === found.modifiedMs;
  return ok({ text: found.text(), contentType: found.contentType, size: found.size, sameHead });
});

const share = endpoint(async (req) => ({
  url: await blobs.signedUrl(req.param("key"), Number(req.query("expiresIn") ?? 3600)),
}));

/** PUTs `body` under `key` through the file store. */
function put(p, key, body, contentType = "text/plain") {
  return p.call(files, "PUT", `/files/${key}`, { params: { key }, body, headers: { "content-type": contentType } });
}

test("an object is stored, read, listed and deleted", async () => {
  await withPlatform({}, async (p) => {
    let r = await put(p, "notes/a.txt", "héllo");
    const info = r.json().data;
    assert.deepEqual(
      [info.key, info.contentType, info.size, typeof info.modifiedMs],
      ["notes/a.txt", "text/plain", 6, "number"],
    );
    r = await p.call(files, "GET", "/files/notes/a.txt", { params: { key: "notes/a.txt" } });
    assert.deepEqual(r.json().data, { text: "héllo", contentType: "text/plain", size: 6, sameHead: true });
    assert.deepEqual([...p.blobs.keys()], ["notes/a.txt"]);
    assert.deepEqual(p.blobs.get("notes/a.txt").data, new TextEncoder().encode("héllo"));
    r = await p.call(files, "DELETE", "/files/notes/a.txt", { params: { key: "notes/a.txt" } });
    assert.deepEqual(r.json().data, { deleted: true });
    r = await p.call(files, "DELETE", "/files/notes/a.txt", { params: { key: "notes/a.txt" } });
    assert.deepEqual(r.json().data, { deleted: false });
    r = await p.call(files, "GET", "/files/notes/a.txt", { params: { key: "notes/a.txt" } });
    assert.equal(r.json().data, null);
    assert.equal(p.blobs.size, 0);
  });
});

test("a listing is in key order, one page at a time", async () => {
  await withPlatform({}, async (p) => {
    for (const key of ["b/2", "a/1", "b/1", "b/3", "c", "b/\u{1F600}", "b/\uFFFD"]) await put(p, key, "x", "");
    assert.equal(p.blobs.get("a/1").contentType, "application/octet-stream");
    const list = (query) => p.call(files, "GET", "/files/b/", { params: { key: "b/" }, query });
    assert.deepEqual((await list({ limit: "2" })).json().data, { keys: ["b/1", "b/2"], next: "b/2" });
    // By code point (UTF-8 bytes), as the platform orders keys: U+FFFD before U+1F600.
    assert.deepEqual((await list({ limit: "3", after: "b/2" })).json().data, {
      keys: ["b/3", "b/\uFFFD", "b/\u{1F600}"],
      next: null,
    });
    const all = await blobs.list();
    assert.deepEqual(all.objects.map((o) => o.key), ["a/1", "b/1", "b/2", "b/3", "b/\uFFFD", "b/\u{1F600}", "c"]);
    assert.equal(all.next, null);
    for (const limit of ["0", "1001"]) {
      const r = await list({ limit });
      assert.deepEqual([r.status, r.json().code], [500, "BLOB_INVALID"], limit);
    }
  });
});

test("a key the platform refuses is 500 BLOB_INVALID", async () => {
  await withPlatform({}, async (p) => {
    for (const key of ["", "/a", "a//b", "a/../b", "./a", "a/.", "a\\b", "a\nb", "a/", "k".repeat(1025)]) {
      const r = await put(p, key, "x");
      assert.deepEqual([r.status, r.json().code], [500, "BLOB_INVALID"], JSON.stringify(key));
      assert.match(r.json().error, /^an object storage call was refused: /);
    }
    assert.equal((await put(p, "k".repeat(1024), "x")).status, 200);
    assert.equal((await put(p, "ünïcode/..a/.b c", "x")).status, 200);
    assert.deepEqual([...p.blobs.keys()], ["k".repeat(1024), "ünïcode/..a/.b c"]);
    for (const contentType of ["png", "x/", "a/b\u00e9"]) {
      const r = await put(p, "c", "x", contentType);
      assert.deepEqual([r.status, r.json().code], [500, "BLOB_INVALID"], contentType);
    }
  });
});

test("too large and over quota are 413", async () => {
  await withPlatform({ maxBlobBytes: 10, blobQuotaBytes: 15, maxBlobObjects: 2 }, async (p) => {
    let r = await put(p, "big", "x".repeat(11));
    assert.deepEqual([r.status, r.json().code], [413, "BLOB_TOO_LARGE"]);
    assert.equal((await put(p, "one", "x".repeat(10))).status, 200);
    r = await put(p, "two", "x".repeat(6));
    assert.deepEqual([r.status, r.json().code], [413, "BLOB_QUOTA_EXCEEDED"]);
    assert.equal((await put(p, "two", "x".repeat(5))).status, 200);
    r = await put(p, "three", "");
    assert.deepEqual([r.status, r.json().code], [413, "BLOB_QUOTA_EXCEEDED"]);
  });
});

test("a signed URL names the key and its expiry", async () => {
  await withPlatform({}, async (p) => {
    const before = Math.floor(Date.now() / 1000);
    let r = await p.call(share, "GET", "/", { params: { key: "a b/ü.txt" }, query: { expiresIn: "60" } });
    const url = /^https:\/\/blobs\.test\/_blobs\/a%20b\/%C3%BC\.txt\?expires=(\d+)&signature=offplatform$/;
    const match = url.exec(r.json().data.url);
    assert.ok(match, r.json().data.url);
    assert.ok(Number(match[1]) >= before + 60 && Number(match[1]) <= Math.floor(Date.now() / 1000) + 60);
    r = await p.call(share, "GET", "/", { params: { key: "r+d&e=f/x!(y)*~#?.txt" } });
    assert.ok(r.json().data.url.startsWith("https://blobs.test/_blobs/r%2Bd%26e%3Df/x!(y)*~%23%3F.txt?expires="));
    for (const bad of ["0", "604801"]) {
      r = await p.call(share, "GET", "/", { params: { key: "a" }, query: { expiresIn: bad } });
      assert.deepEqual([r.status, r.json().code], [500, "BLOB_INVALID"], bad);
    }
  });
});

test("the SDK takes strings, bytes or buffers and gives plain numbers", async () => {
  await withPlatform({}, async () => {
    const info = await blobs.put("t.txt", "ok ✓", "text/plain; charset=utf-8");
    assert.deepEqual([info.key, info.size, typeof info.modifiedMs], ["t.txt", 6, "number"]);
    const found = await blobs.get("t.txt");
    assert.ok(found.data instanceof Uint8Array);
    assert.deepEqual([found.text(), found.contentType, found.size], ["ok ✓", "text/plain; charset=utf-8", 6]);
    assert.equal(await blobs.head("nothing"), null);
    assert.equal(await blobs.get("nothing"), null);
    assert.equal((await blobs.put("b", new Uint8Array([0, 255]).buffer)).contentType, "application/octet-stream");
    assert.deepEqual([...(await blobs.get("b")).data], [0, 255]);
    assert.equal((await blobs.put("v", new Uint8Array([1, 2, 3, 4]).subarray(1, 3))).size, 2);
  });
});
