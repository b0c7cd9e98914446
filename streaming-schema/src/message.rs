//! Violation messages in `jsonschema`'s wording, except that a value is shown
//! abbreviated: the gate answers anonymous callers, and echoing a 1 MiB string
//! or array back in an error would make every refusal as large as the attack.

use serde_json::Value;

/// Longest string shown in a message, in characters.
const SHOWN_CHARS: usize = 64;

/// A value as a message shows it: scalars as JSON (long strings cut), containers as `{…}` / `[…]`.
#[derive(Clone, Copy)]
pub(crate) enum Shown<'a> {
    Null,
    Bool(bool),
    Num(crate::number::Num),
    Str(&'a str),
    Array,
    Object,
}

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shown::Null => f.write_str("null"),
            Shown::Bool(b) => write!(f, "{b}"),
            Shown::Num(n) => write!(f, "{n}"),
            Shown::Str(s) => match s.char_indices().nth(SHOWN_CHARS) {
                None => write!(f, "{}", Value::String((*s).to_owned())),
                Some((cut, _)) => {
                    let quoted = Value::String(s[..cut].to_owned()).to_string();
                    write!(f, "{}…\"", &quoted[..quoted.len() - 1])
                }
            },
            Shown::Array => f.write_str("[…]"),
            Shown::Object => f.write_str("{…}"),
        }
    }
}

/// A name as a message shows it: at most [`SHOWN_CHARS`] characters, then `…`.
pub(crate) fn abbreviated(name: &str) -> std::borrow::Cow<'_, str> {
    match name.char_indices().nth(SHOWN_CHARS) {
        None => name.into(),
        Some((cut, _)) => format!("{}…", &name[..cut]).into(),
    }
}

pub(crate) fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// `… is not one of "a", "b" or "c"`, naming at most three options as `jsonschema` does.
pub(crate) fn not_one_of(value: Shown<'_>, options: &[Value]) -> String {
    let mut out = format!("{value} is not one of ");
    if options.len() <= 3 {
        for (i, o) in options.iter().enumerate() {
            let sep = if i == 0 {
                ""
            } else if i == options.len() - 1 {
                " or "
            } else {
                ", "
            };
            out.push_str(&format!("{sep}{o}"));
        }
    } else {
        out.push_str(&format!("{}, {} or {} other candidates", options[0], options[1], options.len() - 2));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Shown;

    #[test]
    fn long_strings_are_cut_and_stay_quoted() {
        let long = "é".repeat(100);
        let shown = Shown::Str(&long).to_string();
        assert_eq!(shown.chars().count(), 64 + 3);
        assert!(shown.starts_with('"') && shown.ends_with("…\""));
        assert_eq!(Shown::Str("a\"b").to_string(), r#""a\"b""#);
    }
}
