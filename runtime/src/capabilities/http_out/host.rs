//! The `Host` impl: what a guest's `http-out` calls do with the request's state.

use std::time::Instant;

use wasmtime::component::{Resource, ResourceTable};

use tracing::Instrument;

use super::HttpOut;
use super::client::{IncomingBody, head_fields};
use super::state::HttpOutState;
use crate::capabilities::wit_http_out as wit;

/// The view an http-out call works with: its state and the request's resource table.
pub(crate) struct HttpOutView<'a> {
    pub(crate) state: &'a mut HttpOutState,
    pub(crate) table: &'a mut ResourceTable,
}

impl wit::Host for HttpOutView<'_> {
    async fn fetch(&mut self, request: wit::OutgoingRequest) -> Result<wit::IncomingResponse, wit::HttpError> {
        let _timed = self.state.timings.time_upstream();
        let started = Instant::now();
        let url = request.url.clone();
        let result = match self.state.take_call() {
            Ok(client) => client.fetch(request).instrument(HttpOut::span(&url)).await,
            Err(e) => Err(e),
        };
        self.state.finish(&url, started, &result);
        result
    }

    async fn fetch_streaming(
        &mut self,
        request: wit::OutgoingRequest,
    ) -> Result<wit::StreamingResponse, wit::HttpError> {
        let _timed = self.state.timings.time_upstream();
        let started = Instant::now();
        let url = request.url.clone();
        let (client, sent) = match self.state.take_call() {
            Ok(client) => {
                let sent = client.send(request).instrument(HttpOut::span(&url)).await;
                (Some(client), sent)
            }
            Err(e) => (None, Err(e)),
        };
        self.state.finish(&url, started, &sent);
        let resp = sent?;
        let client = client.expect("a response came from a client");
        let (status, headers) = (resp.status().as_u16(), head_fields(&resp));
        let body = IncomingBody::new(resp, client.settings.max_response_bytes);
        let body = self.table.push(body).map_err(|e| wit::HttpError::Connection(e.to_string()))?;
        self.state.bodies += 1;
        Ok(wit::StreamingResponse { status, headers, body })
    }
}

impl wit::HostIncomingBody for HttpOutView<'_> {
    async fn read(&mut self, body: Resource<IncomingBody>, max: u32) -> Result<Option<Vec<u8>>, wit::HttpError> {
        let _timed = self.state.timings.time_upstream();
        let body = self.table.get_mut(&body).map_err(|e| wit::HttpError::Connection(e.to_string()))?;
        body.next(max).await
    }

    async fn drop(&mut self, body: Resource<IncomingBody>) -> wasmtime::Result<()> {
        // Dropping the response closes (or returns) the upstream connection.
        if self.table.delete(body).is_ok() {
            self.state.bodies = self.state.bodies.saturating_sub(1);
        }
        Ok(())
    }
}
