//! An endpoint's `openapi = { summary, description, response_schema }`: what
//! the generated OpenAPI document says of it beyond what the gate already
//! knows (route, parameters, request schemas, auth, limits).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::files::{NamedPaths, Need};
use super::policy::Problem;

/// The longest `summary`: OpenAPI tools show it on one line.
const MAX_SUMMARY_CHARS: usize = 200;
/// The longest `description`: room for a few paragraphs of Markdown.
const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// An endpoint's own words for its OpenAPI operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenApiDoc {
    /// One line.
    pub summary: Option<String>,
    /// Markdown.
    pub description: Option<String>,
    /// A JSON Schema file for the success answer's body.
    pub response_schema: Option<PathBuf>,
}

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOpenApi {
    summary: Option<String>,
    description: Option<String>,
    pub(super) response_schema: Option<String>,
}

/// Resolves `openapi` of the endpoint at `at`; the schema file is recorded in `paths`.
pub(super) fn openapi(raw: &RawOpenApi, at: &str, base: &Path, paths: &mut NamedPaths) -> Result<OpenApiDoc, Problem> {
    let key = |k: &str| format!("{at}.openapi.{k}");
    if raw.summary.as_ref().is_some_and(|s| s.chars().count() > MAX_SUMMARY_CHARS || s.contains('\n')) {
        return Err((key("summary"), format!("is one line of at most {MAX_SUMMARY_CHARS} characters")));
    }
    if raw.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err((key("description"), format!("is at most {MAX_DESCRIPTION_CHARS} characters")));
    }
    let response_schema =
        raw.response_schema.as_ref().map(|p| paths.expect(key("response_schema"), p, base.join(p), Need::File));
    Ok(OpenApiDoc { summary: raw.summary.clone(), description: raw.description.clone(), response_schema })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_bounded_and_the_schema_is_a_named_file() {
        let mut paths = NamedPaths::default();
        let raw: RawOpenApi = toml::from_str("summary = \"Say hello\"\nresponse_schema = \"hello.json\"").unwrap();
        let doc = openapi(&raw, "endpoint[0]", Path::new("/app"), &mut paths).unwrap();
        assert_eq!(doc.summary.as_deref(), Some("Say hello"));
        assert_eq!(doc.response_schema.as_deref(), Some(Path::new("/app/hello.json")));
        let e = paths.check(Path::new("p.toml")).unwrap_err().to_string();
        assert!(e.contains("endpoint[0].openapi.response_schema"), "{e}");
        let raw: RawOpenApi = toml::from_str("summary = \"two\\nlines\"").unwrap();
        assert_eq!(openapi(&raw, "e", Path::new("/"), &mut paths).unwrap_err().0, "e.openapi.summary");
    }
}
