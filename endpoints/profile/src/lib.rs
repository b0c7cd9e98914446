//! `GET /api/user/profile`: auth required; answers with who the gate says the caller is.

use gatehouse_sdk::{Error, Request, Response, auth, json, ok};

fn handle(_req: Request) -> Result<Response, Error> {
    let me = auth::current();
    ok(json!({
        "kind": me.kind.as_str(),
        "tenant": me.tenant,
        "userId": me.user_id,
        "keyId": me.key_id,
        "scopes": me.scopes,
        "claims": me.claims,
    }))
}

gatehouse_sdk::endpoint!(handle);
