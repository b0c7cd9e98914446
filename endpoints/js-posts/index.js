// The posts example in JavaScript, answering as the Rust one does: `GET
// /api/js/posts/{id}` answers the post itself (anyone may read it; 404 for an
// unknown id), `DELETE /api/js/posts/{id}` deletes it for its author only (403
// for anyone else and for an unknown id) and answers `{"success": true}`;
// `POST /api/js/posts` creates one for the caller (201, in the envelope).

import { BadRequest, Forbidden, NotFound, Unauthorized, auth, created, db, endpoint, jsonResponse } from "./gatehouse.js";

const COLUMNS = `id, author_id AS "authorId", title, body, created_at AS "createdAt"`;

function user() {
  const me = auth.current().userId;
  if (!me) throw new Unauthorized("Unauthorized");
  return me;
}

export const handler = endpoint(async (req) => {
  if (req.method === "POST") {
    const post = req.json();
    if (typeof post?.title !== "string") throw new BadRequest('send {"title": "…", "body": "…"}');
    const [row] = await db.query(
      `INSERT INTO posts (author_id, title, body) VALUES (?, ?, ?) RETURNING ${COLUMNS}`,
      user(),
      post.title,
      post.body ?? "",
    );
    return created(row);
  }
  const id = Number(req.param("id"));
  if (!Number.isInteger(id)) throw new BadRequest("a post id is a whole number");
  const [post] = await db.query(`SELECT ${COLUMNS} FROM posts WHERE id = ?`, id);
  if (req.method === "DELETE") {
    const me = user();
    // One answer for "not yours" and "not there": a caller learns nothing about others' ids.
    if (!post || post.authorId !== me) throw new Forbidden("Forbidden");
    await db.execute("DELETE FROM posts WHERE id = ? AND author_id = ?", id, me);
    return jsonResponse({ success: true });
  }
  if (!post) throw new NotFound("Not found", "POST_NOT_FOUND");
  return jsonResponse(post);
});
