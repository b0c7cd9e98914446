//! Numbers as the parser reads them, compared exactly: an integer against a
//! fractional limit (or the reverse) is never rounded through `f64` first.

use std::cmp::Ordering;

/// A JSON number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl From<&serde_json::Number> for Num {
    fn from(n: &serde_json::Number) -> Self {
        if let Some(u) = n.as_u64() {
            Num::Int(u as i128)
        } else if let Some(i) = n.as_i64() {
            Num::Int(i as i128)
        } else {
            Num::Float(n.as_f64().unwrap_or(f64::NAN))
        }
    }
}

impl Num {
    /// Whether the number is an integer in JSON Schema's sense (`1.0` is).
    pub(crate) fn is_integral(self) -> bool {
        match self {
            Num::Int(_) => true,
            Num::Float(f) => f.is_finite() && f.fract() == 0.0,
        }
    }

    /// Exact comparison; `None` only for NaN, which JSON cannot spell.
    pub(crate) fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (Num::Float(a), Num::Float(b)) => a.partial_cmp(&b),
            (Num::Int(a), Num::Float(b)) => int_vs_float(a, b),
            (Num::Float(a), Num::Int(b)) => int_vs_float(b, a).map(Ordering::reverse),
        }
    }

    /// The number as a `serde_json` value (for delegated checks and messages).
    pub(crate) fn to_value(self) -> serde_json::Value {
        match self {
            Num::Int(i) => match (u64::try_from(i), i64::try_from(i)) {
                (Ok(u), _) => u.into(),
                (_, Ok(i)) => i.into(),
                _ => serde_json::Value::from(i as f64),
            },
            Num::Float(f) => serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number),
        }
    }
}

fn int_vs_float(a: i128, b: f64) -> Option<Ordering> {
    if b.is_nan() {
        return None;
    }
    // Beyond ±2^127 every i128 is on one side.
    if b >= 1.7e38 {
        return Some(Ordering::Less);
    }
    if b <= -1.7e38 {
        return Some(Ordering::Greater);
    }
    let whole = b.trunc();
    match a.cmp(&(whole as i128)) {
        Ordering::Equal => (0.0).partial_cmp(&(b - whole)),
        unequal => Some(unequal),
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

#[cfg(test)]
mod tests {
    use super::Num;
    use std::cmp::Ordering::*;

    #[test]
    fn integers_and_fractions_compare_without_rounding() {
        assert_eq!(Num::Int(10).compare(Num::Float(9.5)), Some(Greater));
        assert_eq!(Num::Int(10).compare(Num::Float(10.0)), Some(Equal));
        assert_eq!(Num::Int(-3).compare(Num::Float(-2.5)), Some(Less));
        assert_eq!(Num::Float(-2.5).compare(Num::Int(-3)), Some(Greater));
        // 2^53 + 1 is not representable as f64; rounding would call them equal.
        assert_eq!(Num::Int(9_007_199_254_740_993).compare(Num::Float(9_007_199_254_740_992.0)), Some(Greater));
        assert!(Num::Float(3.0).is_integral() && !Num::Float(3.5).is_integral());
    }
}
