"""The posts example in Python, answering as the Rust one does: `GET
/api/py/posts/{id}` answers the post itself (anyone may read it; 404 for an
unknown id), `DELETE /api/py/posts/{id}` deletes it for its author only (403
for anyone else and for an unknown id) and answers `{"success": true}`;
`POST /api/py/posts` creates one for the caller (201, in the envelope)."""

from gatehouse import BadRequest, Forbidden, NotFound, Request, Unauthorized, created, endpoint, json_response
from gatehouse.auth import current
from gatehouse.db import execute, query

COLUMNS = 'id, author_id AS "authorId", title, body, created_at AS "createdAt"'


def user() -> str:
    me = current().user_id
    if me is None:
        raise Unauthorized("Unauthorized")
    return me


@endpoint
def handle(req: Request):
    if req.method == "POST":
        new = req.json()
        if not isinstance(new, dict) or not isinstance(new.get("title"), str):
            raise BadRequest("send {\"title\": \"…\", \"body\": \"…\"}")
        rows = query(
            f"INSERT INTO posts (author_id, title, body) VALUES (?, ?, ?) RETURNING {COLUMNS}",
            user(), new["title"], new.get("body", ""),
        )
        return created(rows[0])
    try:
        post_id = int(req.param("id") or "")
    except ValueError:
        raise BadRequest("a post id is a whole number")
    rows = query(f"SELECT {COLUMNS} FROM posts WHERE id = ?", post_id)
    post = rows[0] if rows else None
    if req.method == "DELETE":
        me = user()
        # One answer for "not yours" and "not there": a caller learns nothing about others' ids.
        if post is None or post["authorId"] != me:
            raise Forbidden("Forbidden")
        execute("DELETE FROM posts WHERE id = ? AND author_id = ?", post_id, me)
        return json_response({"success": True})
    if post is None:
        raise NotFound("Not found", "POST_NOT_FOUND")
    return json_response(post)
