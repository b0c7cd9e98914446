// `POST /api/js/posts`, `GET` and `DELETE /api/js/posts/{id}`: the posts
// example in JavaScript. Posts live in the tenant's database; each is readable
// and deletable only by its author (403 for anyone else, 404 for an unknown id).

import { auth, badRequest, created, db, endpoint, forbidden, notFound, ok } from "./gatehouse.js";

const COLUMNS = `id, author_id AS "authorId", title, body, created_at AS "createdAt"`;

export const handler = endpoint((req) => {
  const user = auth.current().userId;
  if (!user) throw forbidden("posts belong to users: use a key or session with a user");
  if (req.method === "POST") {
    const post = req.json();
    if (typeof post?.title !== "string") throw badRequest('send {"title": "…", "body": "…"}');
    const [row] = db.query(
      `INSERT INTO posts (author_id, title, body) VALUES (?, ?, ?) RETURNING ${COLUMNS}`,
      user,
      post.title,
      post.body ?? "",
    );
    return created(row);
  }
  const id = Number(req.param("id"));
  if (!Number.isInteger(id)) throw badRequest("a post id is a whole number");
  const [post] = db.query(`SELECT ${COLUMNS} FROM posts WHERE id = ?`, id);
  if (!post) throw notFound(`post ${id} does not exist`, "POST_NOT_FOUND");
  if (post.authorId !== user) throw forbidden(`post ${id} belongs to another user`, "NOT_POST_OWNER");
  if (req.method === "DELETE") {
    db.execute("DELETE FROM posts WHERE id = ? AND author_id = ?", id, user);
    return ok({ deleted: id });
  }
  return ok(post);
});
