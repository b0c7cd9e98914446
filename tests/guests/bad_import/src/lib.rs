//! Exports the handler but imports an interface the host does not provide:
//! the platform must refuse to start with it, naming the import.

wit_bindgen::generate!({
    inline: r#"
        package acme:probe;
        interface telemetry {
            beacon: func(payload: string);
        }
        world probe {
            import telemetry;
        }
    "#,
    world: "probe",
});

use gatehouse_sdk::{Error, Request, Response, ok};

fn handle(req: Request) -> Result<Response, Error> {
    acme::probe::telemetry::beacon(req.path());
    ok("sent")
}

gatehouse_sdk::endpoint!(handle);
