//! Host bindings generated from `wit/`. Exports are async so a guest can be
//! suspended (epoch yield, timeout) without holding a thread.

#![allow(missing_docs, unreachable_pub, clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "gatehouse:endpoint/endpoint",
    imports: {
        "gatehouse:endpoint/http-out": async,
        "gatehouse:endpoint/db": async,
        "gatehouse:endpoint/blobs": async,
        "gatehouse:endpoint/streaming": async,
        "gatehouse:endpoint/config.get": async,
    },
    with: {
        "gatehouse:endpoint/db.transaction": crate::capabilities::db::DbTransaction,
        "gatehouse:endpoint/http-out.incoming-body": crate::capabilities::http_out::IncomingBody,
    },
    exports: { default: async },
});
