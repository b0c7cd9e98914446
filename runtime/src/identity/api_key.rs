//! The API key format: `sk_live_<id>_<secret>` (or `sk_test_…`). The id (10
//! base62 characters) finds the record; the secret (43 base62 characters,
//! 256 bits) is what makes it a credential. Only SHA-256 of the whole key is
//! stored, and the display prefix `sk_live_<id>`.

use sha2::{Digest, Sha256};

use crate::store::KeyRecord;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ID_LEN: usize = 10;
/// 43 base62 characters carry 256 bits.
const SECRET_LEN: usize = 43;

/// A freshly made key: the whole key (shown once) and its record (stored).
pub struct NewKey {
    /// The key itself. Print it once; it is not stored anywhere.
    pub key: String,
    /// What is stored.
    pub record: KeyRecord,
}

/// What a new key should carry.
pub struct KeySpec {
    /// Owning tenant.
    pub tenant: String,
    /// Label.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The user it acts for.
    pub user_id: Option<String>,
    /// Unix seconds, if it expires.
    pub expires_at: Option<i64>,
    /// `sk_test_` instead of `sk_live_`.
    pub test: bool,
}

/// Makes a key from the operating system's CSPRNG.
pub fn generate(spec: KeySpec, now: i64) -> Result<NewKey, String> {
    let id = random_base62(ID_LEN)?;
    let secret = random_base62(SECRET_LEN)?;
    let env = if spec.test { "test" } else { "live" };
    let prefix = format!("sk_{env}_{id}");
    let key = format!("{prefix}_{secret}");
    let record = KeyRecord {
        id,
        tenant: spec.tenant,
        name: spec.name,
        prefix,
        hash: hash(&key),
        scopes: spec.scopes,
        user_id: spec.user_id,
        created_at: now,
        expires_at: spec.expires_at,
        revoked_at: None,
    };
    Ok(NewKey { key, record })
}

/// The id inside a presented key, if it has the key format.
pub fn id_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("sk_live_").or_else(|| key.strip_prefix("sk_test_"))?;
    let (id, secret) = rest.split_once('_')?;
    let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (ok(id, ID_LEN) && ok(secret, SECRET_LEN)).then_some(id)
}

/// Hex SHA-256 of the whole key.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Uniform base62 characters by rejection sampling (bytes >= 248 are dropped,
/// so every character is equally likely).
pub(crate) fn random_base62(n: usize) -> Result<String, String> {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        getrandom::fill(&mut buf).map_err(|e| format!("the OS random source failed: {e}"))?;
        for &b in &buf {
            if b < 248 && out.len() < n {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

/// Generates a key from `spec` and stores its record; the CLI and the admin API both issue keys here.
pub async fn issue(store: &crate::store::Store, spec: KeySpec) -> Result<NewKey, String> {
    if spec.tenant.is_empty() {
        return Err("a key needs a tenant".into());
    }
    if let Some(bad) = spec.scopes.iter().find(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        return Err(format!("`{bad}` is not a scope: no spaces, not empty"));
    }
    let new = generate(spec, crate::clock::unix_now())?;
    store.insert_key(&new.record).await.map_err(|e| e.to_string())?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> KeySpec {
        KeySpec {
            tenant: "t".into(),
            name: "ci".into(),
            scopes: vec!["read".into()],
            user_id: None,
            expires_at: None,
            test: false,
        }
    }

    #[test]
    fn keys_have_the_documented_shape_and_only_a_hash_is_kept() {
        let k = generate(spec(), 0).unwrap();
        assert!(k.key.starts_with("sk_live_"));
        assert_eq!(k.key.len(), "sk_live_".len() + ID_LEN + 1 + SECRET_LEN);
        assert_eq!(id_of(&k.key), Some(k.record.id.as_str()));
        assert_eq!(k.record.hash, hash(&k.key));
        assert!(!k.record.hash.contains(&k.key[k.record.prefix.len() + 1..]));
        assert_eq!(k.record.prefix, format!("sk_live_{}", k.record.id));
        let t = generate(KeySpec { test: true, ..spec() }, 0).unwrap();
        assert!(t.key.starts_with("sk_test_"));
        assert_ne!(generate(spec(), 0).unwrap().key, k.key);
    }

    #[test]
    fn malformed_keys_have_no_id() {
        assert_eq!(id_of("sk_live_short_x"), None);
        assert_eq!(id_of("pk_live_0123456789_x"), None);
        assert_eq!(id_of(""), None);
    }
}
