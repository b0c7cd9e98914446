//! The `Host` impl: what a guest's `http-out` calls do with the request's state.

use wasmtime::component::{Resource, ResourceTable};

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
        let client = self.state.take_call()?;
        let url = request.url.clone();
        let result = client.fetch(request).await;
        self.state.log(&url, &result);
        result
    }

    async fn fetch_streaming(
        &mut self,
        request: wit::OutgoingRequest,
    ) -> Result<wit::StreamingResponse, wit::HttpError> {
        let client = self.state.take_call()?;
        let url = request.url.clone();
        let sent = client.send(request).await;
        self.state.log(&url, &sent);
        let resp = sent?;
        let (status, headers) = (resp.status().as_u16(), head_fields(&resp));
        let body = IncomingBody::new(resp, client.settings.max_response_bytes);
        let body = self.table.push(body).map_err(|e| wit::HttpError::Connection(e.to_string()))?;
        Ok(wit::StreamingResponse { status, headers, body })
    }
}

impl wit::HostIncomingBody for HttpOutView<'_> {
    async fn read(&mut self, body: Resource<IncomingBody>, max: u32) -> Result<Option<Vec<u8>>, wit::HttpError> {
        let body = self.table.get_mut(&body).map_err(|e| wit::HttpError::Connection(e.to_string()))?;
        body.next(max).await
    }

    async fn drop(&mut self, body: Resource<IncomingBody>) -> wasmtime::Result<()> {
        // Dropping the response closes (or returns) the upstream connection.
        let _ = self.table.delete(body);
        Ok(())
    }
}
