// The posts example in JavaScript, answering as the Rust one does: `GET
// /api/js/posts/{id}` answers the post itself (anyone may read it; 404 for an
// unknown id), `DELETE /api/js/posts/{id}` deletes it for its author only (403
// for anyone else and for an unknown id) and answers `{"success": true}`;
// `POST /api/js/posts` creates one for the caller (201, in the envelope).

import { auth, badRequest, created, db, endpoint, forbidden, jsonResponse, notFound, unauthorized } from "./gatehouse.js";

const COLUMNS = `id, author_id AS "authorId", title, body, created_at AS "createdAt"`;

function user() {
  const me = auth.current().userId;
  if (!me) throw unauthorized("Unauthorized");
  return me;
}

export const handler = endpoint((req) => {
  if (req.method === "POST") {
    const post = req.json();
    if (typeof post?.title !== "string") throw badRequest('send {"title": "…", "body": "…"}');
    const [row] = db.query(
      `INSERT INTO posts (author_id, title, body) VALUES (?, ?, ?) RETURNING ${COLUMNS}`,
      user(),
      post.title,
      post.body ?? "",
    );
    return created(row);
  }
  const id = Number(req.param("id"));
  if (!Number.isInteger(id)) throw badRequest("a post id is a whole number");
  const [post] = db.query(`SELECT ${COLUMNS} FROM posts WHERE id = ?`, id);
  if (req.method === "DELETE") {
    const me = user();
    // One answer for "not yours" and "not there": a caller learns nothing about others' ids.
    if (!post || post.authorId !== me) throw forbidden("Forbidden");
    db.execute("DELETE FROM posts WHERE id = ? AND author_id = ?", id, me);
    return jsonResponse({ success: true });
  }
  if (!post) throw notFound("Not found", "POST_NOT_FOUND");
  return jsonResponse(post);
});
