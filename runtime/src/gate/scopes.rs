//! 403 INSUFFICIENT_SCOPE unless the caller holds every scope the endpoint requires.

use serde_json::json;

use crate::error::{ApiError, ErrorCode};
use crate::identity::Principal;

/// Passes when `principal` holds all of `required`.
pub fn check(required: &[String], principal: &Principal) -> Result<(), ApiError> {
    let missing: Vec<&str> =
        required.iter().filter(|s| !principal.scopes.iter().any(|p| p == *s)).map(String::as_str).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::InsufficientScope,
        format!("this endpoint needs the scope(s): {}", missing.join(", ")),
    )
    .with_details(json!({ "required": required, "missing": missing })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::PrincipalKind;

    fn with(scopes: &[&str]) -> Principal {
        Principal {
            kind: PrincipalKind::ApiKey,
            tenant: "t".into(),
            user_id: None,
            key_id: Some("k".into()),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            claims: None,
        }
    }

    #[test]
    fn all_required_scopes_must_be_held() {
        let required = vec!["read".to_string(), "write".to_string()];
        assert!(check(&required, &with(&["write", "read", "admin"])).is_ok());
        let e = check(&required, &with(&["read"])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InsufficientScope);
        assert_eq!(e.details.unwrap()["missing"], json!(["write"]));
        assert!(check(&[], &with(&[])).is_ok());
    }
}
