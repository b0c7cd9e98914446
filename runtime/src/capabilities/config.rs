//! `gatehouse:endpoint/config`: the variables and secrets granted to this
//! endpoint, and nothing else. Secret values are handed to the guest only; they
//! are never logged (see `config::Secret`).

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use crate::config::Secret;
use crate::sandbox::wit_config as wit;

/// Per-request state: the endpoint's grants, shared read-only.
pub(crate) struct ConfigState {
    values: Arc<BTreeMap<String, String>>,
    secrets: Arc<BTreeMap<String, Secret>>,
}

impl ConfigState {
    pub(crate) fn new(values: Arc<BTreeMap<String, String>>, secrets: Arc<BTreeMap<String, Secret>>) -> Self {
        Self { values, secrets }
    }
}

impl wit::Host for ConfigState {
    fn get(&mut self, name: String) -> Option<String> {
        // Only what was granted; an ungranted name is indistinguishable from an unset one.
        self.values.get(&name).cloned().or_else(|| self.secrets.get(&name).map(|s| s.expose().to_string()))
    }
}

struct ConfigData;

impl HasData for ConfigData {
    type Data<'a> = &'a mut ConfigState;
}

/// Links `gatehouse:endpoint/config`.
pub(crate) fn add_to_linker(linker: &mut Linker<crate::sandbox::HostState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, ConfigData>(linker, |s| &mut s.config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wit::Host;

    #[test]
    fn only_granted_names_are_visible() {
        let values = Arc::new(BTreeMap::from([("GREETING".to_string(), "hi".to_string())]));
        let secrets = Arc::new(BTreeMap::from([("API_KEY".to_string(), Secret::new("k"))]));
        let mut state = ConfigState::new(values, secrets);
        assert_eq!(state.get("GREETING".into()).as_deref(), Some("hi"));
        assert_eq!(state.get("API_KEY".into()).as_deref(), Some("k"));
        assert_eq!(state.get("PATH".into()), None);
    }
}
