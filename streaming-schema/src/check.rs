//! The one-pass check: a serde seed per schema node that validates each value
//! as the parser reads it. Nothing is kept but the violations found and, per
//! open object, a bit mask of the declared names seen; values without
//! constraints, and everything after the last reported violation, are skipped
//! by the parser alone.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::message::{Shown, not_one_of, plural};
use crate::number::Num;
use crate::plan::{Additional, Node, Plan, Types};
use crate::pointer::Path;
use crate::{Report, Violation};

impl Plan {
    /// Checks a body in one pass. A body that is not JSON (including trailing
    /// characters) is an error, whatever else is wrong with it; otherwise the
    /// report lists the first `max_violations` violations.
    pub fn check(&self, body: &[u8], max_violations: usize) -> Result<Report, serde_json::Error> {
        let mut run = Run { report: Report::default(), max: max_violations.max(1) };
        let mut de = serde_json::Deserializer::from_slice(body);
        Seed { run: &mut run, node: Some(&self.root), path: &Path::Root }.deserialize(&mut de)?;
        de.end()?;
        Ok(run.report)
    }
}

struct Run {
    report: Report,
    max: usize,
}

impl Run {
    fn full(&self) -> bool {
        self.report.violations.len() >= self.max
    }

    fn violation(&mut self, path: &Path<'_>, message: String) {
        if !self.full() {
            self.report.violations.push(Violation { pointer: path.pointer(), message });
        }
    }
}

/// Unexpected property names a violation shows before it just counts them.
const SHOWN_NAMES: usize = 5;

/// Checks one value against one node (`None`: anything is valid).
struct Seed<'r, 'p, 'a> {
    run: &'r mut Run,
    node: Option<&'p Node>,
    path: &'a Path<'a>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.node {
            // Still needs reading to the end (the body must parse), but no checking.
            None => IgnoredAny::deserialize(d).map(drop),
            // Past the last violation reported, the verdict is known; only parsing is left.
            Some(_) if self.run.full() => IgnoredAny::deserialize(d).map(drop),
            Some(_) => d.deserialize_any(self),
        }
    }
}

/// The kind of a scalar, as a bit of [`Types`].
fn kind_of(value: &Shown<'_>) -> u8 {
    match value {
        Shown::Null => Types::NULL,
        Shown::Bool(_) => Types::BOOLEAN,
        Shown::Num(n) if n.is_integral() => Types::INTEGER,
        Shown::Num(_) => Types::NUMBER,
        Shown::Str(_) => Types::STRING,
        Shown::Array => Types::ARRAY,
        Shown::Object => Types::OBJECT,
    }
}

impl Seed<'_, '_, '_> {
    fn node(&self) -> &Node {
        self.node.expect("a seed with no node skips its value")
    }

    /// `false` and `type`; true when the value's own keywords apply.
    fn admits(&mut self, value: Shown<'_>) -> bool {
        let node = self.node();
        if node.never {
            let message = format!("False schema does not allow {value}");
            self.run.violation(self.path, message);
            return false;
        }
        if let Some((types, order)) = &node.types
            && !types.allows(kind_of(&value))
        {
            let names = Types::names(order);
            let message = if names.len() == 1 {
                format!(r#"{value} is not of type "{}""#, names[0])
            } else {
                let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                format!("{value} is not of types {}", quoted.join(", "))
            };
            self.run.violation(self.path, message);
            return false;
        }
        true
    }

    /// `enum` and `const` hold only scalars (the plan refuses others), so no array or object matches them.
    fn container(&mut self, value: Shown<'_>) {
        let node = self.node.expect("checked");
        if let Some(Value::Array(list)) = &node.enumeration {
            self.run.violation(self.path, not_one_of(value, list));
        }
        if let Some(expected) = &node.constant {
            self.run.violation(self.path, format!("{expected} was expected"));
        }
    }

    /// Every keyword that applies to a scalar.
    fn scalar(mut self, value: Shown<'_>) {
        if !self.admits(value) {
            return;
        }
        let node = self.node.expect("checked");
        let mut found: Vec<String> = Vec::new();
        if let Some(Value::Array(list)) = &node.enumeration
            && !list.iter().any(|o| equal(&value, o))
        {
            found.push(not_one_of(value, list));
        }
        if let Some(expected) = &node.constant
            && !equal(&value, expected)
        {
            found.push(format!("{expected} was expected"));
        }
        match value {
            Shown::Str(s) if node.min_length.is_some() || node.max_length.is_some() => {
                let n = s.chars().count() as u64;
                if let Some(min) = node.min_length.filter(|min| n < *min) {
                    found.push(format!("{value} is shorter than {min} {}", plural(min, "character", "characters")));
                }
                if let Some(max) = node.max_length.filter(|max| n > *max) {
                    found.push(format!("{value} is longer than {max} {}", plural(max, "character", "characters")));
                }
            }
            Shown::Num(n) => range(node, n, value, &mut found),
            _ => {}
        }
        if let Some(delegated) = &node.delegated {
            delegate(delegated, value, &mut found);
        }
        for message in found {
            self.run.violation(self.path, message);
        }
    }
}

fn range(node: &Node, n: Num, value: Shown<'_>, found: &mut Vec<String>) {
    let cmp = |limit: Num| n.compare(limit);
    if let Some(min) = node.minimum
        && cmp(min) == Some(Ordering::Less)
    {
        found.push(format!("{value} is less than the minimum of {min}"));
    }
    if let Some(max) = node.maximum
        && cmp(max) == Some(Ordering::Greater)
    {
        found.push(format!("{value} is greater than the maximum of {max}"));
    }
    if let Some(min) = node.exclusive_minimum
        && cmp(min) != Some(Ordering::Greater)
    {
        found.push(format!("{value} is less than or equal to the minimum of {min}"));
    }
    if let Some(max) = node.exclusive_maximum
        && cmp(max) != Some(Ordering::Less)
    {
        found.push(format!("{value} is greater than or equal to the maximum of {max}"));
    }
}

/// `pattern`, `format`, `multipleOf`: `jsonschema` judges the scalar; the message shows it abbreviated.
fn delegate(validator: &jsonschema::Validator, value: Shown<'_>, found: &mut Vec<String>) {
    use jsonschema::error::ValidationErrorKind as Kind;
    let instance = match value {
        Shown::Str(s) => Value::String(s.to_owned()),
        Shown::Num(n) => n.to_value(),
        // The delegated keywords only constrain strings and numbers.
        _ => return,
    };
    if validator.is_valid(&instance) {
        return;
    }
    for e in validator.iter_errors(&instance) {
        found.push(match e.kind() {
            Kind::Format { format } => format!(r#"{value} is not a "{format}""#),
            Kind::Pattern { pattern } => format!(r#"{value} does not match "{pattern}""#),
            Kind::MultipleOf { multiple_of } => format!("{value} is not a multiple of {multiple_of}"),
            _ => e.to_string(),
        });
    }
}

/// JSON equality of a scalar and an option of `enum` / `const` (numbers by value: `1` is `1.0`).
fn equal(value: &Shown<'_>, option: &Value) -> bool {
    match (value, option) {
        (Shown::Null, Value::Null) => true,
        (Shown::Bool(a), Value::Bool(b)) => a == b,
        (Shown::Num(a), Value::Number(b)) => a.compare(Num::from(b)) == Some(Ordering::Equal),
        (Shown::Str(a), Value::String(b)) => *a == b.as_str(),
        _ => false,
    }
}

impl<'de> Visitor<'de> for Seed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.scalar(Shown::Null);
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.scalar(Shown::Bool(v));
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.scalar(Shown::Num(Num::Int(v.into())));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.scalar(Shown::Num(Num::Int(v.into())));
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.scalar(Shown::Num(Num::Float(v)));
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.scalar(Shown::Str(v));
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        if !self.admits(Shown::Array) {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        self.container(Shown::Array);
        let node = self.node.expect("checked");
        let mut n: usize = 0;
        loop {
            let path = Path::Index(self.path, n);
            let seed = Seed { run: &mut *self.run, node: node.items.as_deref(), path: &path };
            if seq.next_element_seed(seed)?.is_none() {
                break;
            }
            n += 1;
        }
        let n = n as u64;
        if let Some(min) = node.min_items.filter(|min| n < *min) {
            let message = format!("[…] has less than {min} {}", plural(min, "item", "items"));
            self.run.violation(self.path, message);
        }
        if let Some(max) = node.max_items.filter(|max| n > *max) {
            let message = format!("[…] has more than {max} {}", plural(max, "item", "items"));
            self.run.violation(self.path, message);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        if !self.admits(Shown::Object) {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        self.container(Shown::Object);
        let node = self.node.expect("checked");
        let mut seen = Seen::new(node.tracks_slots, node.slots.len());
        // The first few unexpected names, shown abbreviated, and how many in all:
        // an object of 50,000 unknown keys must not become a 1 MiB message.
        let (mut unexpected, mut unexpected_count): (Vec<String>, usize) = (Vec::new(), 0);
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let slot = node.slot(&key);
            if let Some(i) = slot {
                seen.mark(i);
            }
            let declared = slot.map(|i| &node.slots[i]).filter(|s| s.declared);
            let child = match (declared, &node.additional) {
                (Some(s), _) => s.schema.as_deref(),
                (None, Additional::Any) => None,
                (None, Additional::Schema(schema)) => Some(&**schema),
                (None, Additional::Forbidden) => {
                    unexpected_count += 1;
                    if unexpected.len() < SHOWN_NAMES {
                        unexpected.push(format!("'{}'", crate::message::abbreviated(&key)));
                    }
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let path = Path::Key(self.path, &key);
            map.next_value_seed(Seed { run: &mut *self.run, node: child, path: &path })?;
        }
        if unexpected_count > 0 {
            let verb = if unexpected_count == 1 { "was" } else { "were" };
            let more = unexpected_count - unexpected.len();
            let names =
                if more == 0 { unexpected.join(", ") } else { format!("{} and {more} more", unexpected.join(", ")) };
            let message = format!("Additional properties are not allowed ({names} {verb} unexpected)");
            self.run.violation(self.path, message);
        }
        for (i, slot) in node.slots.iter().enumerate() {
            if seen.has(i) {
                continue;
            }
            if slot.required {
                let message = format!("{} is a required property", Value::String(slot.name.to_string()));
                self.run.violation(self.path, message);
            }
            if slot.default.is_some() {
                self.run.report.defaults_missing = true;
            }
        }
        Ok(())
    }
}

/// Which slots an object has shown: a mask for up to 64 slots, a vector beyond.
pub(crate) enum Seen {
    Untracked,
    Mask(u64),
    Many(Vec<bool>),
}

impl Seen {
    pub(crate) fn new(tracks: bool, slots: usize) -> Self {
        match (tracks, slots) {
            (false, _) => Seen::Untracked,
            (true, 0..=64) => Seen::Mask(0),
            (true, n) => Seen::Many(vec![false; n]),
        }
    }

    pub(crate) fn mark(&mut self, i: usize) {
        match self {
            Seen::Untracked => {}
            Seen::Mask(m) => *m |= 1 << i,
            Seen::Many(v) => v[i] = true,
        }
    }

    /// Whether slot `i` was seen; an untracked object reports every slot seen (none needs checking).
    pub(crate) fn has(&self, i: usize) -> bool {
        match self {
            Seen::Untracked => true,
            Seen::Mask(m) => m & (1 << i) != 0,
            Seen::Many(v) => v[i],
        }
    }
}

/// An object key, borrowed from the body unless it holds escapes.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}
