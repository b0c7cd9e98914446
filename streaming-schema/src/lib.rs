//! JSON Schema validation in one pass over a body's bytes, without building a
//! tree of values.
//!
//! Why a crate of its own: the gate checks the body of every request that
//! reaches a schema-checked endpoint, often before anyone is authenticated.
//! Parsing a 1 MiB body into a `serde_json::Value` and validating that tree
//! costs about 40 ms of CPU (allocating, then freeing, a node per value);
//! walking the bytes once and checking each value as it is read costs a few.
//! The crate is built with full optimisation even in the dev profile (see the
//! workspace's Cargo.toml), because serde's generic parser is compiled here,
//! where it is instantiated.
//!
//! A [`Plan`] covers the keywords request bodies use (types, `properties`,
//! `required`, `additionalProperties`, `items`, lengths, ranges, `enum` and
//! `const` of scalars; `pattern`, `format` and `multipleOf` are delegated to
//! `jsonschema` one scalar at a time). A schema using anything else (`$ref`,
//! `oneOf`, `if`, …) is [`Unsupported`], and the caller validates it on a tree
//! as before. Inside the subset, a plan and `jsonschema` agree on every
//! instance: `tests/agreement.rs` holds them to it.

mod check;
mod fill;
mod message;
mod number;
mod plan;
mod pointer;

pub use plan::{Plan, Unsupported};

/// What a check found in a body that parses.
#[derive(Debug, Default, PartialEq)]
pub struct Report {
    /// The first violations, in document order (at most the number asked for).
    pub violations: Vec<Violation>,
    /// Whether some object lacks a property for which the schema declares a
    /// `default` ([`Plan::fill_defaults`] adds them).
    pub defaults_missing: bool,
}

impl Report {
    /// Whether the body is valid.
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }
}

/// One way a body breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The JSON pointer of the offending value (`""` for the whole body).
    pub pointer: String,
    /// What is wrong, in `jsonschema`'s wording; large values are abbreviated.
    pub message: String,
}
