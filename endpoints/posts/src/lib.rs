//! The product docs' posts: `GET /api/posts/{id}` answers the post itself
//! (anyone may read it; 404 `Not found` for an unknown id), `DELETE
//! /api/posts/{id}` deletes it for its author only (403 `Forbidden` for
//! anyone else, and for an id that does not exist, as the docs' handler does)
//! and answers `{"success": true}`. `POST /api/posts` creates one for the
//! caller (201, in the envelope).

use gatehouse_sdk::{Error, Request, Response, auth, created, db, json, params};
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
    if req.method() == "POST" {
        let new: NewPost = req.json()?;
        let rows = db::query(
            &format!("INSERT INTO posts (author_id, title, body) VALUES (?, ?, ?) RETURNING {COLUMNS}"),
            params![user()?, new.title, new.body],
        )?;
        let post: Post = rows.decode()?.pop().ok_or_else(|| Error::internal("the insert returned no row"))?;
        return created(post);
    }
    let id: i64 = req
        .param("id")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| Error::bad_request("a post id is a whole number"))?;
    let post: Option<Post> = db::query_as(&format!("SELECT {COLUMNS} FROM posts WHERE id = ?"), params![id])?.pop();
    if req.method() == "DELETE" {
        let user = user()?;
        if post.is_none_or(|p| p.author_id != user) {
            // One answer for "not yours" and "not there": a caller learns nothing about others' ids.
            return Err(Error::forbidden("Forbidden"));
        }
        db::execute("DELETE FROM posts WHERE id = ? AND author_id = ?", params![id, user])?;
        return Response::json(200, &json!({ "success": true }));
    }
    match post {
        Some(post) => Response::json(200, &post),
        None => Err(Error::not_found("Not found").with_code("POST_NOT_FOUND")),
    }
}

/// The caller's user id: posts belong to users.
fn user() -> Result<String, Error> {
    auth::current().user_id.ok_or_else(|| Error::unauthorized("Unauthorized"))
}

gatehouse_sdk::endpoint!(handle);

// Unit tests without the platform (`cargo test -p posts` in endpoints/):
// gatehouse_sdk::testing answers the SDK's calls, with the migrations applied
// to an SQLite database in memory.
#[cfg(test)]
mod tests {
    use gatehouse_sdk::testing::TestPlatform;
    use gatehouse_sdk::{Request, json};

    const MIGRATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");

    #[test]
    fn a_caller_creates_reads_and_deletes_only_its_own_post() {
        let p = TestPlatform::builder().user("ada").scopes(["write"]).migrations(MIGRATIONS).open();
        let r = p.call(
            super::handle,
            Request::new("POST", "/api/posts").with_json(&json!({ "title": "Hello", "body": "first" })),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let post = r.json()["data"].clone();
        assert_eq!((post["title"].clone(), post["authorId"].clone()), (json!("Hello"), json!("ada")));
        let id = post["id"].to_string();
        let r = p.call(super::handle, Request::new("GET", &format!("/api/posts/{id}")).with_param("id", &id));
        assert_eq!(r.json()["title"], "Hello");
        drop(p);

        let p = TestPlatform::builder().user("bob").migrations(MIGRATIONS).open();
        p.exec("INSERT INTO posts (author_id, title, body) VALUES ('ada', 'Hers', '')");
        let r = p.call(super::handle, Request::new("DELETE", "/api/posts/1").with_param("id", "1"));
        assert_eq!(r.status, 403);
        assert_eq!(
            r.json(),
            json!({ "success": false, "error": "Forbidden", "code": "FORBIDDEN", "requestId": "test-request" })
        );
    }

    #[test]
    fn an_unknown_post_is_the_documented_404_and_anonymous_writes_are_401() {
        let p = TestPlatform::builder().migrations(MIGRATIONS).open();
        let r = p.call(super::handle, Request::new("GET", "/api/posts/9").with_param("id", "9"));
        assert_eq!(
            (r.status, r.json()["code"].clone(), r.json()["error"].clone()),
            (404, json!("POST_NOT_FOUND"), json!("Not found"))
        );
        let r = p.call(super::handle, Request::new("POST", "/api/posts").with_json(&json!({ "title": "x" })));
        assert_eq!(r.status, 401);
    }
}
