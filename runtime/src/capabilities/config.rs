//! `gatehouse:endpoint/config`: the variables and secrets granted to this
//! endpoint, and nothing else. A granted secret's value comes from the admin
//! API (live), else `[secrets]` or the environment (read at startup). Values
//! are handed to the guest only, never logged (see `config::Secret`).

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use super::secret_book::SecretBook;
use crate::capabilities::wit_config as wit;
use crate::config::Secret;

/// Per-request state: the endpoint's grants, shared read-only.
pub(crate) struct ConfigState {
    values: Arc<BTreeMap<String, String>>,
    secrets: Arc<BTreeMap<String, Option<Secret>>>,
    book: Option<(Arc<SecretBook>, Arc<str>)>,
}

impl ConfigState {
    /// `secrets` maps each granted name to its startup value (none if unset);
    /// `book` (with the tenant) holds the values set through the admin API.
    pub(crate) fn new(
        values: Arc<BTreeMap<String, String>>,
        secrets: Arc<BTreeMap<String, Option<Secret>>>,
        book: Option<(Arc<SecretBook>, Arc<str>)>,
    ) -> Self {
        Self { values, secrets, book }
    }
}

impl wit::Host for ConfigState {
    async fn get(&mut self, name: String) -> Option<String> {
        // Only what was granted; an ungranted name is indistinguishable from an unset one.
        if let Some(v) = self.values.get(&name) {
            return Some(v.clone());
        }
        let startup = self.secrets.get(&name)?;
        if let Some((book, tenant)) = &self.book
            && let Some(live) = book.get(tenant, &name).await
        {
            return Some(live.expose().to_string());
        }
        startup.as_ref().map(|s| s.expose().to_string())
    }
}

struct ConfigData;

impl HasData for ConfigData {
    type Data<'a> = &'a mut ConfigState;
}

/// Links `gatehouse:endpoint/config`; `get` finds this capability's state in a store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut ConfigState,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, ConfigData>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wit::Host;

    #[tokio::test]
    async fn only_granted_names_are_visible() {
        let values = Arc::new(BTreeMap::from([("GREETING".to_string(), "hi".to_string())]));
        let secrets =
            Arc::new(BTreeMap::from([("API_KEY".to_string(), Some(Secret::new("k"))), ("LATER".to_string(), None)]));
        let mut state = ConfigState::new(values, secrets, None);
        assert_eq!(state.get("GREETING".into()).await.as_deref(), Some("hi"));
        assert_eq!(state.get("API_KEY".into()).await.as_deref(), Some("k"));
        assert_eq!(state.get("LATER".into()).await, None);
        assert_eq!(state.get("PATH".into()).await, None);
    }
}
