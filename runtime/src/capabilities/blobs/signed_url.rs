//! Signed URLs: `{origin}{tenant prefix}/_blobs/{key}?expires={unix s}&signature={hex}`.
//! The signature is HMAC-SHA256 over the tenant, the key and the expiry, with
//! a key only the platform holds, so a URL names one object of one tenant
//! until one moment: changing any of the three, or replaying it under another
//! tenant's host or prefix, fails the check. Serving it (`server/blob_url.rs`)
//! needs no credentials, only the URL.

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use sha2::Sha256;

/// Where signed URLs live inside a tenant's paths; no route may start here
/// (`config::route` refuses it).
pub const URL_PATH: &str = "/_blobs/";

/// What a path segment of a key escapes: everything but unreserved characters
/// and `/` between segments.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'+')
    .add(b'&')
    .add(b'=')
    .add(b';')
    .add(b'\'')
    .add(b'[')
    .add(b']')
    .add(b'^')
    .add(b'|');

/// Signs and checks URLs with one key.
pub struct UrlSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(..)")
    }
}

/// Why a signed URL is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum UrlProblem {
    /// No `expires` or `signature`, or not numbers and hex.
    Malformed,
    /// The signature does not match the tenant, key and expiry.
    BadSignature,
    /// Its time is over.
    Expired,
}

impl UrlSigner {
    /// A signer with `key` (the platform's, never a tenant's).
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, tenant: &str, key: &str, expires: u64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        // Lengths first: no two (tenant, key) pairs make the same message.
        mac.update(
            format!("gatehouse-blob-v1\n{}\n{}\n{tenant}\n{key}\n{expires}", tenant.len(), key.len()).as_bytes(),
        );
        mac
    }

    /// The path and query of `key`'s URL, valid until `expires` (Unix seconds),
    /// to follow the tenant's origin and prefix.
    pub fn path_and_query(&self, tenant: &str, key: &str, expires: u64) -> String {
        let signature = hex::encode(self.mac(tenant, key, expires).finalize().into_bytes());
        format!("{}{}?expires={expires}&signature={signature}", URL_PATH.trim_end_matches('/'), encode_key(key))
    }

    /// Checks a URL's query for `key` of `tenant` at `now` (Unix seconds).
    pub fn verify(&self, tenant: &str, key: &str, query: Option<&str>, now: u64) -> Result<(), UrlProblem> {
        let (mut expires, mut signature) = (None, None);
        for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*name {
                "expires" => expires = value.parse::<u64>().ok(),
                "signature" => signature = hex::decode(value.as_bytes()).ok(),
                _ => {}
            }
        }
        let (Some(expires), Some(signature)) = (expires, signature) else { return Err(UrlProblem::Malformed) };
        // Checked before the expiry, so a stale URL is told apart from a forged one.
        self.mac(tenant, key, expires).verify_slice(&signature).map_err(|_| UrlProblem::BadSignature)?;
        if now >= expires {
            return Err(UrlProblem::Expired);
        }
        Ok(())
    }
}

/// `/`-separated segments, each percent-encoded.
fn encode_key(key: &str) -> String {
    key.split('/').map(|s| format!("/{}", utf8_percent_encode(s, SEGMENT))).collect()
}

/// The key in a request path's rest after [`URL_PATH`], decoded; `None` if it
/// is not UTF-8.
pub fn decode_key(encoded: &str) -> Option<String> {
    percent_decode_str(encoded).decode_utf8().ok().map(|k| k.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pq: &str) -> (String, String) {
        let (path, query) = pq.split_once('?').unwrap();
        (decode_key(path.strip_prefix(URL_PATH).unwrap()).unwrap(), query.to_string())
    }

    #[test]
    fn the_path_is_the_one_routes_may_not_use() {
        assert_eq!(URL_PATH, format!("{}/", crate::config::BLOBS_PATH));
    }

    #[test]
    fn a_url_round_trips_with_any_key() {
        let s = UrlSigner::new(b"k");
        for key in ["a.png", "uploads/u 1/日本?#%&=+.txt"] {
            let (decoded, query) = split(&s.path_and_query("acme", key, 2000));
            assert_eq!(decoded, key);
            assert_eq!(s.verify("acme", key, Some(&query), 1999), Ok(()));
        }
    }

    #[test]
    fn another_tenant_key_expiry_or_signer_fails() {
        let s = UrlSigner::new(b"k");
        let (_, query) = split(&s.path_and_query("acme", "a.png", 2000));
        assert_eq!(s.verify("evil", "a.png", Some(&query), 0), Err(UrlProblem::BadSignature));
        assert_eq!(s.verify("acme", "b.png", Some(&query), 0), Err(UrlProblem::BadSignature));
        let later = query.replace("expires=2000", "expires=9999");
        assert_eq!(s.verify("acme", "a.png", Some(&later), 0), Err(UrlProblem::BadSignature));
        assert_eq!(UrlSigner::new(b"other").verify("acme", "a.png", Some(&query), 0), Err(UrlProblem::BadSignature));
        assert_eq!(s.verify("acme", "a.png", Some(&query), 2000), Err(UrlProblem::Expired));
        assert_eq!(s.verify("acme", "a.png", None, 0), Err(UrlProblem::Malformed));
        assert_eq!(s.verify("acme", "a.png", Some("expires=1&signature=zz"), 0), Err(UrlProblem::Malformed));
    }

    #[test]
    fn tenant_and_key_boundaries_cannot_be_shifted() {
        let s = UrlSigner::new(b"k");
        let (_, query) = split(&s.path_and_query("ab", "c", 2000));
        assert_eq!(s.verify("a", "bc", Some(&query), 0), Err(UrlProblem::BadSignature));
    }
}
