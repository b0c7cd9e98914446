"""`POST /api/py/posts`, `GET` and `DELETE /api/py/posts/{id}`: the posts example
in Python. Posts live in the tenant's database; each is readable and deletable
only by its author (403 for anyone else, 404 for an unknown id)."""

from gatehouse import Request, auth, bad_request, created, db, endpoint, forbidden, not_found, ok

COLUMNS = 'id, author_id AS "authorId", title, body, created_at AS "createdAt"'


@endpoint
def handle(req: Request):
    user = auth.current().user_id
    if user is None:
        raise forbidden("posts belong to users: use a key or session with a user")
    if req.method == "POST":
        new = req.json()
        if not isinstance(new, dict) or not isinstance(new.get("title"), str):
            raise bad_request("send {\"title\": \"…\", \"body\": \"…\"}")
        rows = db.query(
            f"INSERT INTO posts (author_id, title, body) VALUES (?, ?, ?) RETURNING {COLUMNS}",
            user, new["title"], new.get("body", ""),
        )
        return created(rows[0])
    try:
        post_id = int(req.param("id") or "")
    except ValueError:
        raise bad_request("a post id is a whole number")
    rows = db.query(f"SELECT {COLUMNS} FROM posts WHERE id = ?", post_id)
    if not rows:
        raise not_found(f"post {post_id} does not exist", "POST_NOT_FOUND")
    post = rows[0]
    if post["authorId"] != user:
        raise forbidden(f"post {post_id} belongs to another user", "NOT_POST_OWNER")
    if req.method == "DELETE":
        db.execute("DELETE FROM posts WHERE id = ? AND author_id = ?", post_id, user)
        return ok({"deleted": post_id})
    return ok(post)
