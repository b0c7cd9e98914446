// `@gatehouse/sdk/testing` on real handlers (the posts and notifications
// examples, unchanged) and on small handlers for each capability: what an
// author's own tests look like. Run with `npm test` in guest-sdk/js (after
// `npm ci`), or `node --test guest-sdk/js/test/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { TestPlatform } from "../testing.js";

// After testing.js: its loader hook answers the examples' imports.
const { Conflict, config, db, endpoint, http, log, ok, stream } = await import("../gatehouse.js");
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
