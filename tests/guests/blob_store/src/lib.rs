//! The blobs capability, one operation per request (`{"op": …}` in a JSON
//! body), answered as JSON: the same contract as the Python and JavaScript
//! guests (tests/polyglot/py_blobs, js_blobs), so one test drives all three.
//! A failure is left to the SDK, which answers the capability's envelope.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_sdk::{Error, Request, Response, Value, blobs, json, ok};

fn info(i: &blobs::ObjectInfo) -> Value {
    json!({ "key": i.key, "contentType": i.content_type, "size": i.size, "modifiedMs": i.modified_ms })
}

fn text<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field].as_str().unwrap_or("")
}

fn handle(req: Request) -> Result<Response, Error> {
    let body: Value = req.json()?;
    let key = text(&body, "key");
    match text(&body, "op") {
        "put" => {
            let data = STANDARD.decode(text(&body, "base64")).map_err(|e| Error::bad_request(e.to_string()))?;
            ok(json!({ "info": info(&blobs::put(key, text(&body, "contentType"), &data)?) }))
        }
        "fill" => {
            let data = vec![b'x'; body["size"].as_u64().unwrap_or(0) as usize];
            ok(json!({ "info": info(&blobs::put(key, text(&body, "contentType"), &data)?) }))
        }
        "get" => ok(json!({ "object": blobs::get(key)?.map(|o| {
            let mut v = info(&o.info);
            v["base64"] = json!(STANDARD.encode(&o.data));
            v
        }) })),
        "head" => ok(json!({ "info": blobs::head(key)?.as_ref().map(info) })),
        "delete" => ok(json!({ "deleted": blobs::delete(key)? })),
        "list" => {
            let page = blobs::list(
                text(&body, "prefix"),
                body["after"].as_str(),
                body["limit"].as_u64().unwrap_or(100) as u32,
            )?;
            let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
            let sizes: Vec<u64> = page.objects.iter().map(|o| o.size).collect();
            ok(json!({ "keys": keys, "sizes": sizes, "next": page.next }))
        }
        "url" => ok(json!({ "url": blobs::signed_url(key, body["expiresIn"].as_u64().unwrap_or(60) as u32)? })),
        other => Err(Error::bad_request(format!("no op `{other}`")).with_code("NO_SUCH_OP")),
    }
}

gatehouse_sdk::endpoint!(handle);
