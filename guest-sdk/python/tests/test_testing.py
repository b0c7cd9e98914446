"""`gatehouse.testing` on a real handler (the posts example, unchanged) and
on small handlers for each capability: what an author's own tests look like.
Run with `python3 -m unittest discover guest-sdk/python/tests` (or pytest)."""

import importlib.util
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gatehouse import Conflict, Request, blobs, endpoint, http, log, ok, stream  # noqa: E402
from gatehouse import config as gh_config  # noqa: E402
from gatehouse import db  # noqa: E402
from gatehouse.testing import TestPlatform  # noqa: E402

REPO = HERE.parents[2]


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name.replace('-', '_')}", REPO / "endpoints" / name / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


posts = load_example("py-posts")
MIGRATIONS = REPO / "endpoints" / "migrations"


class PostsExample(unittest.TestCase):
    def test_a_caller_creates_reads_and_deletes_only_its_own_post(self):
        with TestPlatform(user="ada", scopes=["write"], migrations=MIGRATIONS) as p:
            r = p.call(posts.handle, "POST", "/api/py/posts", json={"title": "Hello", "body": "first"})
            self.assertEqual(r.status, 201, r.text())
            post = r.json()["data"]
            self.assertEqual((post["title"], post["authorId"]), ("Hello", "ada"))
            r = p.call(posts.handle, "GET", f"/api/py/posts/{post['id']}", params={"id": str(post["id"])})
            self.assertEqual(r.json()["title"], "Hello")
        with TestPlatform(user="bob", migrations=MIGRATIONS) as p:
            p.db.execute("INSERT INTO posts (author_id, title, body) VALUES ('ada', 'Hers', '')")
            r = p.call(posts.handle, "DELETE", "/api/py/posts/1", params={"id": "1"})
            self.assertEqual(r.status, 403)
            self.assertEqual(r.json(), {"success": False, "error": "Forbidden", "code": "FORBIDDEN",
                                        "requestId": "test-request"})

    def test_an_unknown_post_is_the_documented_404_and_anonymous_writes_are_401(self):
        with TestPlatform(migrations=MIGRATIONS) as p:
            r = p.call(posts.handle, "GET", "/api/py/posts/9", params={"id": "9"})
            self.assertEqual((r.status, r.json()["code"], r.json()["error"]), (404, "POST_NOT_FOUND", "Not found"))
            r = p.call(posts.handle, "POST", "/api/py/posts", json={"title": "x"})
            self.assertEqual(r.status, 401)


@endpoint
def weather(req: Request):
    base = gh_config.get("WEATHER_URL")
    log.info("asking the weather")
    answer = http.fetch(f"{base}/today", headers=[("accept", "application/json")])
    return ok({"temp": answer.json()["temp"], "status": answer.status})


@endpoint
def unique(req: Request):
    db.execute("CREATE TABLE IF NOT EXISTS t (name TEXT UNIQUE)")
    db.execute("INSERT INTO t (name) VALUES (?)", req.query("name"))
    return ok({"saved": True})


@endpoint
def events(req: Request):
    for n in range(3):
        stream.send_event({"n": n})
    return ok(None)


class Capabilities(unittest.TestCase):
    def test_config_fetch_and_log_are_what_the_test_says(self):
        with TestPlatform(config={"WEATHER_URL": "https://api.example.com"}) as p:
            p.mock("GET", "https://api.example.com/today", json={"temp": 21})
            r = p.call(weather)
            self.assertEqual(r.json(), {"success": True, "data": {"temp": 21, "status": 200}})
            self.assertEqual([c.url for c in p.calls], ["https://api.example.com/today"])
            self.assertEqual(p.logs, [("INFO", "asking the weather")])

    def test_an_upstream_that_fails_or_is_not_mocked_is_the_platforms_failure(self):
        with TestPlatform(config={"WEATHER_URL": "https://api.example.com"}) as p:
            p.mock("GET", "https://api.example.com/today", fail="timeout")
            r = p.call(weather)
            self.assertEqual((r.status, r.json()["code"]), (503, "UPSTREAM_TIMEOUT"))
        with TestPlatform(config={"WEATHER_URL": "https://elsewhere.example"}) as p:
            r = p.call(weather)
            self.assertEqual((r.status, r.json()["code"]), (500, "OUTBOUND_NOT_ALLOWED"))

    def test_a_constraint_is_409_db_constraint_as_on_the_platform(self):
        with TestPlatform() as p:
            self.assertEqual(p.call(unique, query={"name": "a"}).status, 200)
            r = p.call(unique, query={"name": "a"})
            self.assertEqual((r.status, r.json()["code"]), (409, "DB_CONSTRAINT"))
            self.assertTrue(issubclass(Conflict, Exception))

    def test_a_stream_is_recorded_event_by_event(self):
        with TestPlatform() as p:
            r = p.call(events)
            self.assertEqual(r.header("content-type"), "text/event-stream")
            self.assertEqual(r.events, [(None, '{"n":0}'), (None, '{"n":1}'), (None, '{"n":2}')])
            self.assertTrue(r.text().startswith('data: {"n":0}\n\n'))


@endpoint
def files(req: Request):
    """A small file store: PUT stores the body, GET reads one or lists a folder, DELETE removes."""
    key = req.param("key") or ""
    if req.method == "PUT":
        info = blobs.put(key, req.body, req.header("content-type") or "")
        return ok({"key": info.key, "contentType": info.content_type, "size": info.size})
    if req.method == "DELETE":
        return ok({"deleted": blobs.delete(key)})
    if key.endswith("/"):
        page = blobs.list(key, req.query("after"), int(req.query("limit") or "100"))
        return ok({"keys": [o.key for o in page.objects], "next": page.next})
    found = blobs.get(key)
    if found is None:
        return ok(None)
    return ok({"text": found.text(), "contentType": found.content_type, "size": found.size,
               "head": blobs.head(key) == blobs.ObjectInfo(key, found.content_type, found.size, found.modified_ms)})


@endpoint
def share(req: Request):
    return ok({"url": blobs.signed_url(req.param("key") or "", int(req.query("expiresIn") or "3600"))})


class Blobs(unittest.TestCase):
    def put(self, p: TestPlatform, key: str, body: bytes, content_type: str = "text/plain"):
        return p.call(files, "PUT", f"/files/{key}", params={"key": key}, body=body,
                      headers=[("content-type", content_type)])

    def test_an_object_is_stored_read_listed_and_deleted(self):
        with TestPlatform() as p:
            r = self.put(p, "notes/a.txt", "héllo".encode())
            self.assertEqual(r.json()["data"], {"key": "notes/a.txt", "contentType": "text/plain", "size": 6})
            r = p.call(files, "GET", "/files/notes/a.txt", params={"key": "notes/a.txt"})
            self.assertEqual(r.json()["data"], {"text": "héllo", "contentType": "text/plain", "size": 6, "head": True})
            self.assertEqual(p.blobs, {"notes/a.txt": ("text/plain", "héllo".encode())})
            r = p.call(files, "DELETE", "/files/notes/a.txt", params={"key": "notes/a.txt"})
            self.assertEqual(r.json()["data"], {"deleted": True})
            r = p.call(files, "DELETE", "/files/notes/a.txt", params={"key": "notes/a.txt"})
            self.assertEqual(r.json()["data"], {"deleted": False})
            r = p.call(files, "GET", "/files/notes/a.txt", params={"key": "notes/a.txt"})
            self.assertIsNone(r.json()["data"])
            self.assertEqual(p.blobs, {})

    def test_a_listing_is_in_key_order_one_page_at_a_time(self):
        with TestPlatform() as p:
            for key in ("b/2", "a/1", "b/1", "b/3", "c"):
                self.put(p, key, b"x", "")
            self.assertEqual(p.blobs["a/1"], ("application/octet-stream", b"x"))
            r = p.call(files, "GET", "/files/b/", params={"key": "b/"}, query={"limit": "2"})
            self.assertEqual(r.json()["data"], {"keys": ["b/1", "b/2"], "next": "b/2"})
            r = p.call(files, "GET", "/files/b/", params={"key": "b/"}, query={"limit": "2", "after": "b/2"})
            self.assertEqual(r.json()["data"], {"keys": ["b/3"], "next": None})
            r = p.call(files, "GET", "/files/b/", params={"key": "b/"}, query={"limit": "3"})
            self.assertEqual(r.json()["data"], {"keys": ["b/1", "b/2", "b/3"], "next": None})
            listing = blobs.list()
            self.assertEqual([o.key for o in listing.objects], ["a/1", "b/1", "b/2", "b/3", "c"])
            for limit in ("0", "1001"):
                r = p.call(files, "GET", "/files/b/", params={"key": "b/"}, query={"limit": limit})
                self.assertEqual((r.status, r.json()["code"]), (500, "BLOB_INVALID"), limit)

    def test_a_key_the_platform_refuses_is_500_blob_invalid(self):
        with TestPlatform() as p:
            for key in ("", "/a", "a//b", "a/../b", "./a", "a/.", "a\\b", "a\nb", "a/", "k" * 1025):
                r = self.put(p, key, b"x")
                self.assertEqual((r.status, r.json()["code"]), (500, "BLOB_INVALID"), repr(key))
                self.assertTrue(r.json()["error"].startswith("an object storage call was refused: "), r.json())
            self.assertEqual(self.put(p, "k" * 1024, b"x").status, 200)
            self.assertEqual(self.put(p, "ünïcode/..a/.b c", b"x").status, 200)
            self.assertEqual(p.call(files, "GET", "/files/a//b", params={"key": "a//b"}).json()["code"], "BLOB_INVALID")
            self.assertEqual(sorted(p.blobs), ["k" * 1024, "ünïcode/..a/.b c"])
            for content_type in ("png", "text/plain\r\nSet-Cookie: a=b", "x/", "a/b\u00e9"):
                r = self.put(p, "c", b"x", content_type)
                self.assertEqual((r.status, r.json()["code"]), (500, "BLOB_INVALID"), content_type)
            r = p.call(files, "GET", "/files//x/", params={"key": "/x/"})
            self.assertEqual((r.status, r.json()["code"]), (500, "BLOB_INVALID"), "a prefix starting with /")

    def test_too_large_and_over_quota_are_413(self):
        with TestPlatform(max_blob_bytes=10, blob_quota_bytes=15, max_blob_objects=2) as p:
            r = self.put(p, "big", b"x" * 11)
            self.assertEqual((r.status, r.json()["code"]), (413, "BLOB_TOO_LARGE"))
            self.assertEqual(self.put(p, "one", b"x" * 10).status, 200)
            r = self.put(p, "two", b"x" * 6)
            self.assertEqual((r.status, r.json()["code"]), (413, "BLOB_QUOTA_EXCEEDED"))
            self.assertEqual(self.put(p, "two", b"x" * 5).status, 200)
            r = self.put(p, "three", b"")
            self.assertEqual((r.status, r.json()["code"]), (413, "BLOB_QUOTA_EXCEEDED"))
        with TestPlatform() as p:
            r = self.put(p, "big", b"x" * (10 << 20 | 1))
            self.assertEqual((r.status, r.json()["code"]), (413, "BLOB_TOO_LARGE"), "the platform's default limit")

    def test_a_signed_url_names_the_key_and_its_expiry(self):
        with TestPlatform() as p:
            before = int(time.time())
            r = p.call(share, params={"key": "a b/ü.txt"}, query={"expiresIn": "60"})
            url = r.json()["data"]["url"]
            prefix = "https://blobs.test/_blobs/a%20b/%C3%BC.txt?expires="
            self.assertTrue(url.startswith(prefix), url)
            expires, rest = url[len(prefix):].split("&")
            self.assertTrue(before + 60 <= int(expires) <= int(time.time()) + 60)
            self.assertEqual(rest, "signature=offplatform")
            url = p.call(share, params={"key": "r+d&e=f/x!(y)*~#?.txt"}).json()["data"]["url"]
            self.assertTrue(url.startswith("https://blobs.test/_blobs/r%2Bd%26e%3Df/x!(y)*~%23%3F.txt?expires="), url)
            for bad in ("0", "604801"):
                r = p.call(share, params={"key": "a"}, query={"expiresIn": bad})
                self.assertEqual((r.status, r.json()["code"]), (500, "BLOB_INVALID"), bad)
            self.assertEqual(p.call(share, params={"key": "a"}, query={"expiresIn": "604800"}).status, 200)

    def test_the_sdk_takes_text_or_bytes_and_gives_blobs(self):
        with TestPlatform():
            info = blobs.put("t.txt", "ok ✓", "text/plain; charset=utf-8")
            self.assertEqual((info.key, info.size), ("t.txt", 6))
            self.assertIsInstance(info.modified_ms, int)
            found = blobs.get("t.txt")
            self.assertIsInstance(found, blobs.Blob)
            self.assertEqual((found.data, found.text(), found.content_type),
                             ("ok ✓".encode(), "ok ✓", "text/plain; charset=utf-8"))
            self.assertIsNone(blobs.head("nothing"))
            self.assertEqual(blobs.put("b", bytearray(b"\x00\xff")).content_type, "application/octet-stream")


if __name__ == "__main__":
    unittest.main()
