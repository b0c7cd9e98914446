//! `POST /api/posts`, `GET /api/posts/{id}`, `DELETE /api/posts/{id}`: posts
//! in the tenant's database, each readable and deletable only by its author
//! (403 for anyone else, 404 for an unknown id).

use gatehouse_sdk::{Error, Request, Response, auth, created, db, json, ok, params};
use serde::{Deserialize, Serialize};

/// Read from snake_case columns, answered in camelCase.
#[derive(Deserialize, Serialize)]
#[serde(rename_all(serialize = "camelCase"))]
struct Post {
    id: i64,
    author_id: String,
    title: String,
    body: String,
    created_at: i64,
}

#[derive(Deserialize)]
struct NewPost {
    title: String,
    #[serde(default)]
    body: String,
}

const COLUMNS: &str = "id, author_id, title, body, created_at";

fn handle(req: Request) -> Result<Response, Error> {
    let user = auth::current()
        .user_id
        .ok_or_else(|| Error::forbidden("posts belong to users: use a key or session with a user"))?;
    if req.method() == "POST" {
        let new: NewPost = req.json()?;
        let rows = db::query(
            &format!("INSERT INTO posts (author_id, title, body) VALUES (?, ?, ?) RETURNING {COLUMNS}"),
            params![user, new.title, new.body],
        )?;
        let post: Post = rows.decode()?.pop().ok_or_else(|| Error::internal("the insert returned no row"))?;
        return created(post);
    }
    let id: i64 = req
        .param("id")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| Error::bad_request("a post id is a whole number"))?;
    let post: Post = db::query_as(&format!("SELECT {COLUMNS} FROM posts WHERE id = ?"), params![id])?
        .pop()
        .ok_or_else(|| Error::not_found(format!("post {id} does not exist")).with_code("POST_NOT_FOUND"))?;
    if post.author_id != user {
        return Err(Error::forbidden(format!("post {id} belongs to another user")).with_code("NOT_POST_OWNER"));
    }
    match req.method() {
        "DELETE" => {
            db::execute("DELETE FROM posts WHERE id = ? AND author_id = ?", params![id, user])?;
            ok(json!({ "deleted": id }))
        }
        _ => ok(post),
    }
}

gatehouse_sdk::endpoint!(handle);
