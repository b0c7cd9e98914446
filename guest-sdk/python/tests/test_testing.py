"""`gatehouse.testing` on a real handler (the posts example, unchanged) and
on small handlers for each capability: what an author's own tests look like.
Run with `python3 -m unittest discover guest-sdk/python/tests` (or pytest)."""

import importlib.util
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gatehouse import Conflict, Request, endpoint, http, log, ok, stream  # noqa: E402
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


if __name__ == "__main__":
    unittest.main()
