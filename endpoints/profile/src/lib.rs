//! `GET /api/user/profile`: the product docs' protected route. The gate has
//! already answered 401 to a caller with no valid session or key; the guest
//! answers `{"user": …}` as the docs do, with who the gate says the caller is.

use gatehouse_sdk::{Error, Request, Response, auth, json};

fn handle(_req: Request) -> Result<Response, Error> {
    let me = auth::current();
    Response::json(
        200,
        &json!({
            "user": {
                "id": me.user_id,
                "tenant": me.tenant,
                "authType": me.kind.as_str(),
                "keyId": me.key_id,
                "scopes": me.scopes,
                "claims": me.claims,
            }
        }),
    )
}

gatehouse_sdk::endpoint!(handle);
