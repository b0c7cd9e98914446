//! A schema compiled into what the one-pass check needs: per node, the
//! keywords that constrain a value, with object properties as numbered slots
//! (so `required` and defaults are a bit mask per object, not a set of names).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::number::Num;

/// Why a schema cannot be checked in one pass; the caller then validates a
/// parsed tree with `jsonschema`, which supports everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The JSON pointer, inside the schema, of what is outside the subset.
    pub at: String,
    /// The keyword, or a description of the form, that is outside it.
    pub keyword: String,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` at {:?} is outside the one-pass subset", self.keyword, self.at)
    }
}

impl std::error::Error for Unsupported {}

/// A compiled schema.
#[derive(Debug)]
pub struct Plan {
    pub(crate) root: Node,
}

/// JSON types as a bit set, in `jsonschema`'s names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Types(u8);

impl Types {
    pub(crate) const NULL: u8 = 1;
    pub(crate) const BOOLEAN: u8 = 2;
    pub(crate) const INTEGER: u8 = 4;
    pub(crate) const NUMBER: u8 = 8;
    pub(crate) const STRING: u8 = 16;
    pub(crate) const ARRAY: u8 = 32;
    pub(crate) const OBJECT: u8 = 64;
    const NAMES: [(&'static str, u8); 7] = [
        ("null", Self::NULL),
        ("boolean", Self::BOOLEAN),
        ("integer", Self::INTEGER),
        ("number", Self::NUMBER),
        ("string", Self::STRING),
        ("array", Self::ARRAY),
        ("object", Self::OBJECT),
    ];

    /// Whether a value of `kind` (one bit; an integral number has INTEGER) is allowed.
    pub(crate) fn allows(self, kind: u8) -> bool {
        self.0 & kind != 0 || (kind == Self::INTEGER && self.0 & Self::NUMBER != 0)
    }

    /// The names, in the order the schema gave them.
    pub(crate) fn names(order: &[u8]) -> Vec<&'static str> {
        order.iter().filter_map(|b| Self::NAMES.iter().find(|(_, x)| x == b).map(|(n, _)| *n)).collect()
    }
}

/// One schema (sub)document.
#[derive(Debug, Default)]
pub(crate) struct Node {
    /// `false`: nothing is valid.
    pub(crate) never: bool,
    pub(crate) types: Option<(Types, Vec<u8>)>,
    pub(crate) enumeration: Option<Value>,
    pub(crate) constant: Option<Value>,
    pub(crate) min_length: Option<u64>,
    pub(crate) max_length: Option<u64>,
    pub(crate) minimum: Option<Num>,
    pub(crate) maximum: Option<Num>,
    pub(crate) exclusive_minimum: Option<Num>,
    pub(crate) exclusive_maximum: Option<Num>,
    /// `pattern`, `format` and `multipleOf`, checked by `jsonschema` on the scalar alone.
    pub(crate) delegated: Option<jsonschema::Validator>,
    pub(crate) min_items: Option<u64>,
    pub(crate) max_items: Option<u64>,
    /// `items`; `None` when every item is valid.
    pub(crate) items: Option<Box<Node>>,
    /// Declared properties and required names, one slot each.
    pub(crate) slots: Vec<Slot>,
    /// Name → slot, when there are enough slots for a scan to cost more than a hash.
    pub(crate) index: Option<HashMap<Box<str>, usize>>,
    pub(crate) additional: Additional,
    /// Whether any slot is required or has a default (an object then needs a seen-mask).
    pub(crate) tracks_slots: bool,
    pub(crate) has_defaults: bool,
}

/// A property name the schema declares or requires.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) name: Box<str>,
    /// The property's schema; `None` when any value is valid.
    pub(crate) schema: Option<Box<Node>>,
    /// Whether `properties` names it (a name only `required` lists is still additional).
    pub(crate) declared: bool,
    pub(crate) required: bool,
    pub(crate) default: Option<Value>,
}

/// What `additionalProperties` says about names without a slot.
#[derive(Debug, Default)]
pub(crate) enum Additional {
    #[default]
    Any,
    Forbidden,
    Schema(Box<Node>),
}

/// Slots beyond this are found through a hash map rather than a scan.
const SCAN_SLOTS: usize = 12;

/// Keywords that say nothing about validity; `$defs` are only reachable through `$ref`, which is unsupported.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "$defs",
    "definitions",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Draft URIs whose meaning of the supported keywords is the one implemented here.
const DRAFTS: &[&str] = &[
    "https://json-schema.org/draft/2020-12/schema",
    "https://json-schema.org/draft/2019-09/schema",
    "http://json-schema.org/draft-07/schema",
    "http://json-schema.org/draft-06/schema",
];

impl Plan {
    /// Compiles a schema document, or says what in it is outside the subset.
    pub fn compile(schema: &Value) -> Result<Self, Unsupported> {
        let draft = match schema.get("$schema") {
            None => None,
            Some(Value::String(uri)) if DRAFTS.contains(&uri.trim_end_matches('#')) => Some(uri.clone()),
            Some(_) => return Err(Unsupported { at: String::new(), keyword: "$schema (this draft)".into() }),
        };
        let root = Compiler { draft }.node(schema, "")?;
        Ok(Self { root })
    }
}

struct Compiler {
    draft: Option<String>,
}

impl Compiler {
    fn node(&self, schema: &Value, at: &str) -> Result<Node, Unsupported> {
        let map = match schema {
            Value::Bool(true) => return Ok(Node::default()),
            Value::Bool(false) => return Ok(Node { never: true, ..Node::default() }),
            Value::Object(map) => map,
            _ => return Err(unsupported(at, "a schema that is neither an object nor a boolean")),
        };
        let mut node = Node::default();
        let mut delegated = Map::new();
        for (keyword, value) in map {
            let here = format!("{at}/{keyword}");
            match keyword.as_str() {
                k if ANNOTATIONS.contains(&k) => {}
                "type" => node.types = Some(types(value, &here)?),
                "enum" => match value {
                    Value::Array(options) if options.iter().all(is_scalar) => node.enumeration = Some(value.clone()),
                    _ => return Err(unsupported(&here, "enum of objects or arrays")),
                },
                "const" if is_scalar(value) => node.constant = Some(value.clone()),
                "minLength" => node.min_length = Some(count(value, &here)?),
                "maxLength" => node.max_length = Some(count(value, &here)?),
                "minItems" => node.min_items = Some(count(value, &here)?),
                "maxItems" => node.max_items = Some(count(value, &here)?),
                "minimum" => node.minimum = Some(number(value, &here)?),
                "maximum" => node.maximum = Some(number(value, &here)?),
                "exclusiveMinimum" => node.exclusive_minimum = Some(number(value, &here)?),
                "exclusiveMaximum" => node.exclusive_maximum = Some(number(value, &here)?),
                "pattern" | "format" | "multipleOf" => {
                    delegated.insert(keyword.clone(), value.clone());
                }
                "items" if value.is_object() || value.is_boolean() => {
                    node.items = self.optional(value, &here)?;
                }
                "properties" => {
                    let Value::Object(props) = value else { return Err(unsupported(&here, "properties")) };
                    for (name, schema) in props {
                        let schema_at = format!("{here}/{}", crate::pointer::escape(name));
                        let default = schema.get("default").cloned();
                        let schema = self.optional(schema, &schema_at)?;
                        let slot = slot_of(&mut node.slots, name);
                        slot.schema = schema;
                        slot.default = default;
                        slot.declared = true;
                    }
                }
                "required" => {
                    let Value::Array(names) = value else { return Err(unsupported(&here, "required")) };
                    for name in names {
                        let Value::String(name) = name else { return Err(unsupported(&here, "required")) };
                        slot_of(&mut node.slots, name).required = true;
                    }
                }
                "additionalProperties" => {
                    node.additional = match value {
                        Value::Bool(true) => Additional::Any,
                        Value::Bool(false) => Additional::Forbidden,
                        _ => match self.optional(value, &here)? {
                            None => Additional::Any,
                            Some(schema) => Additional::Schema(schema),
                        },
                    }
                }
                other => return Err(unsupported(&here, other)),
            }
        }
        if !delegated.is_empty() {
            if let Some(draft) = &self.draft {
                delegated.insert("$schema".into(), Value::String(draft.clone()));
            }
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&Value::Object(delegated))
                .map_err(|e| unsupported(at, &format!("pattern/format/multipleOf ({e})")))?;
            node.delegated = Some(validator);
        }
        node.tracks_slots = node.slots.iter().any(|s| s.required || s.default.is_some());
        node.has_defaults = node.slots.iter().any(|s| s.default.is_some());
        if node.slots.len() > SCAN_SLOTS {
            node.index = Some(node.slots.iter().enumerate().map(|(i, s)| (s.name.clone(), i)).collect());
        }
        Ok(node)
    }

    /// A subschema, or `None` when it allows everything (checked by skipping).
    fn optional(&self, schema: &Value, at: &str) -> Result<Option<Box<Node>>, Unsupported> {
        let node = self.node(schema, at)?;
        Ok(if node.is_trivial() { None } else { Some(Box::new(node)) })
    }
}

impl Node {
    /// Whether every value is valid and nothing is filled in.
    fn is_trivial(&self) -> bool {
        !self.never
            && self.types.is_none()
            && self.enumeration.is_none()
            && self.constant.is_none()
            && self.min_length.is_none()
            && self.max_length.is_none()
            && self.minimum.is_none()
            && self.maximum.is_none()
            && self.exclusive_minimum.is_none()
            && self.exclusive_maximum.is_none()
            && self.delegated.is_none()
            && self.min_items.is_none()
            && self.max_items.is_none()
            && self.items.is_none()
            && self.slots.iter().all(|s| s.schema.is_none() && !s.required && s.default.is_none())
            && matches!(self.additional, Additional::Any)
    }

    /// The slot of a property name, if the schema declares or requires it.
    pub(crate) fn slot(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.slots.iter().position(|s| &*s.name == name),
        }
    }
}

fn slot_of<'n>(slots: &'n mut Vec<Slot>, name: &str) -> &'n mut Slot {
    let i = match slots.iter().position(|s| &*s.name == name) {
        Some(i) => i,
        None => {
            slots.push(Slot { name: name.into(), schema: None, declared: false, required: false, default: None });
            slots.len() - 1
        }
    };
    &mut slots[i]
}

fn types(value: &Value, at: &str) -> Result<(Types, Vec<u8>), Unsupported> {
    let name_bit = |v: &Value| -> Result<u8, Unsupported> {
        let name = v.as_str().ok_or_else(|| unsupported(at, "type"))?;
        Types::NAMES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b).ok_or_else(|| unsupported(at, "type"))
    };
    let order = match value {
        Value::Array(names) => names.iter().map(name_bit).collect::<Result<Vec<_>, _>>()?,
        one => vec![name_bit(one)?],
    };
    Ok((Types(order.iter().fold(0, |all, b| all | b)), order))
}

fn count(value: &Value, at: &str) -> Result<u64, Unsupported> {
    match value {
        Value::Number(n) => {
            n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64))
        }
        _ => None,
    }
    .ok_or_else(|| unsupported(at, "a count that is not a non-negative integer"))
}

fn number(value: &Value, at: &str) -> Result<Num, Unsupported> {
    match value {
        Value::Number(n) => Ok(Num::from(n)),
        _ => Err(unsupported(at, "a limit that is not a number (draft 4's boolean exclusive limits)")),
    }
}

fn is_scalar(value: &Value) -> bool {
    !(value.is_object() || value.is_array())
}

fn unsupported(at: &str, keyword: &str) -> Unsupported {
    Unsupported { at: at.to_owned(), keyword: keyword.to_owned() }
}
