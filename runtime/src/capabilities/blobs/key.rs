//! What a key, a prefix and a content type may be. Pure checks, the same on
//! every backend: a key becomes a file name under the tenant's folder on disk
//! and part of an object name in a bucket, so nothing in it may climb out
//! (`..`), hide (`.`), collapse (`//`, leading `/`) or carry control
//! characters into a header or a log line.

/// A key's bytes, at most (S3's own limit).
pub(crate) const MAX_KEY_BYTES: usize = 1024;
/// A content type's bytes, at most.
const MAX_CONTENT_TYPE_BYTES: usize = 255;
/// What an empty content type is stored as.
pub(crate) const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Checks a key; the error says what is wrong.
pub(crate) fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("a key may not be empty".into());
    }
    check_text(key, "a key")?;
    if key.starts_with('/') {
        return Err(format!("key `{key}` starts with `/`: keys are relative, like `uploads/cat.png`"));
    }
    for segment in key.split('/') {
        match segment {
            "" => return Err(format!("key `{key}` has an empty segment (`//` or a trailing `/`)")),
            "." | ".." => return Err(format!("key `{key}` has a `{segment}` segment")),
            _ => {}
        }
    }
    Ok(())
}

/// Checks a listing's prefix: any start of a valid key, empty included.
pub(crate) fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    check_text(prefix, "a prefix")?;
    if prefix.starts_with('/') {
        return Err(format!("prefix `{prefix}` starts with `/`: keys are relative"));
    }
    Ok(())
}

/// The content type to store: `application/octet-stream` for an empty one;
/// otherwise `type/subtype` with optional parameters, printable ASCII.
pub(crate) fn content_type(given: &str) -> Result<String, String> {
    let given = given.trim();
    if given.is_empty() {
        return Ok(DEFAULT_CONTENT_TYPE.into());
    }
    let printable = given.bytes().all(|b| (0x20..0x7f).contains(&b));
    let essence = given.split(';').next().unwrap_or("").trim();
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b));
    let shaped = essence.split_once('/').is_some_and(|(t, sub)| token(t) && token(sub));
    if given.len() > MAX_CONTENT_TYPE_BYTES || !printable || !shaped {
        return Err(format!(
            "`{}` is not a content type: write it like `image/png` (at most {MAX_CONTENT_TYPE_BYTES} characters)",
            given.escape_debug()
        ));
    }
    Ok(given.to_string())
}

/// Unicode's noncharacters (U+FDD0..U+FDEF and the last two of each plane):
/// never text, not allowed in XML (so a bucket's listing could not carry the
/// key), and U+10FFFF is the bound the local index lists a prefix up to.
fn noncharacter(c: char) -> bool {
    let n = c as u32;
    (0xFDD0..=0xFDEF).contains(&n) || n & 0xFFFE == 0xFFFE
}

fn check_text(text: &str, what: &str) -> Result<(), String> {
    if text.len() > MAX_KEY_BYTES {
        return Err(format!("{what} may be at most {MAX_KEY_BYTES} bytes; this one is {}", text.len()));
    }
    if text.chars().any(|c| c.is_control() || c == '\\' || noncharacter(c)) {
        return Err(format!(
            "{what} may not hold control characters, noncharacters or `\\`: `{}`",
            text.escape_debug()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_keys_pass() {
        for k in ["a", "uploads/u1/cat.png", "é/日本.txt", "a b/c+d=e?f#g%20", "x..y/.hidden-ish"] {
            assert_eq!(check_key(k), Ok(()), "{k}");
        }
    }

    #[test]
    fn keys_that_climb_hide_or_collapse_are_refused() {
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        for k in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a/./b",
            ".",
            "a//b",
            "a/",
            "a\\b",
            "a\nb",
            "a\0b",
            "a\u{10FFFF}",
            "a\u{FFFE}",
            "a\u{FDD0}",
            &long,
        ] {
            assert!(check_key(k).is_err(), "{k:?}");
        }
        assert_eq!(check_key(&"k".repeat(MAX_KEY_BYTES)), Ok(()));
    }

    #[test]
    fn prefixes_may_be_empty_or_partial() {
        for p in ["", "up", "uploads/", "uploads/u1/c"] {
            assert_eq!(check_prefix(p), Ok(()), "{p}");
        }
        assert!(check_prefix("/x").is_err() && check_prefix("a\rb").is_err());
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("").unwrap(), DEFAULT_CONTENT_TYPE);
        assert_eq!(content_type("image/png").unwrap(), "image/png");
        assert_eq!(content_type("text/plain; charset=utf-8").unwrap(), "text/plain; charset=utf-8");
        for bad in ["png", "text/plain\r\nSet-Cookie: a=b", "a/b\u{e9}", "/x", "x/"] {
            assert!(content_type(bad).is_err(), "{bad:?}");
        }
    }
}
