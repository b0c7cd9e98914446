//! Defaults filled in by a second pass that copies the body, adding each
//! absent property that has a `default` at the end of its object. Only a body
//! the check found valid and missing a default takes this pass; values keep
//! their order and spelling but for numbers and escapes, which are rewritten
//! the way `serde_json` writes them.

use std::fmt;
use std::io::Write;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::check::{Key, Seen};
use crate::plan::{Node, Plan};

impl Plan {
    /// The body with the schema's defaults filled in wherever a property that
    /// has one is absent, in objects checked against that schema (through
    /// `properties`, `items` and `additionalProperties`).
    pub fn fill_defaults(&self, body: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
        let mut out = Vec::with_capacity(body.len() + 64);
        let mut de = serde_json::Deserializer::from_slice(body);
        Copy { out: &mut out, node: Some(&self.root) }.deserialize(&mut de)?;
        de.end()?;
        Ok(out)
    }
}

struct Copy<'o, 'p> {
    out: &'o mut Vec<u8>,
    node: Option<&'p Node>,
}

impl<'de> DeserializeSeed<'de> for Copy<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Copy<'_, '_> {
    fn write<T: serde::Serialize + ?Sized>(self, v: &T) {
        serde_json::to_writer(&mut *self.out, v).expect("a parsed scalar always serialises into a Vec");
    }
}

impl<'de> Visitor<'de> for Copy<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.write(&v);
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.write(&v);
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.write(&v);
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.write(&v);
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.write(v);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let items = self.node.and_then(|n| n.items.as_deref());
        self.out.push(b'[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.out.push(b',');
            }
            if seq.next_element_seed(Copy { out: &mut *self.out, node: items })?.is_none() {
                // There was no element: take back its separator.
                self.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.out.push(b'{');
        let mut seen = self.node.map_or(Seen::Untracked, |n| Seen::new(n.has_defaults, n.slots.len()));
        let mut first = true;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if !first {
                self.out.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut *self.out, &*key).expect("a key always serialises");
            self.out.push(b':');
            let slot = self.node.and_then(|n| n.slot(&key).map(|i| (n, i)));
            if let Some((_, i)) = slot {
                seen.mark(i);
            }
            let child = match slot.map(|(n, i)| (n, &n.slots[i])) {
                Some((_, s)) if s.declared => s.schema.as_deref(),
                _ => match self.node.map(|n| &n.additional) {
                    Some(crate::plan::Additional::Schema(schema)) => Some(&**schema),
                    _ => None,
                },
            };
            map.next_value_seed(Copy { out: &mut *self.out, node: child })?;
        }
        if let Some(node) = self.node.filter(|n| n.has_defaults) {
            for (i, slot) in node.slots.iter().enumerate() {
                let Some(default) = slot.default.as_ref().filter(|_| !seen.has(i)) else { continue };
                if !first {
                    self.out.push(b',');
                }
                first = false;
                let _ = write!(self.out, "{}:{default}", serde_json::Value::String(slot.name.to_string()));
            }
        }
        self.out.push(b'}');
        Ok(())
    }
}
