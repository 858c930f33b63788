//! The sanitiser that keeps attacker-chosen text plain and visible before typst sets it. Pure
//! string handling, so it is built (and fuzzed) without the `render` feature; which characters
//! a font can draw is the caller's question (`report::typst::sanitize` asks the embedded fonts).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Makes one untrusted string safe to typeset: line breaks become spaces; bidi overrides,
/// other control characters and characters `drawable` rejects become visible `[U+XXXX]`, and
/// so do invisible zero-width characters (two identifiers that print alike are alike).
/// Nothing is inserted into the text itself, so an identifier or hash copied out of a PDF is
/// the identifier or hash: long tokens get their break opportunities from the templates
/// (`common.typ`, a show rule that places zero-width spacing, not characters, inside long
/// runs). The text stays data: templates read it from JSON and never evaluate it.
/// `drawable` is not asked about printable ASCII, which every text font draws.
pub fn sanitize_with(s: &str, drawable: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if is_bidi_control(c) || c.is_control() => out.push_str(&format!("[U+{:04X}]", c as u32)),
            c if is_invisible(c) => out.push_str(&format!("[U+{:04X}]", c as u32)),
            c if !c.is_ascii_graphic() && c != ' ' && !drawable(c) => out.push_str(&format!("[U+{:04X}]", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Whether [`sanitize_with`] leaves `c` as it is.
fn kept(c: char, drawable: impl Fn(char) -> bool) -> bool {
    !(c.is_control() || is_bidi_control(c) || is_invisible(c) || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}'))
        && (c == ' ' || c.is_ascii_graphic() || drawable(c))
}

/// Whether [`sanitize_with`] leaves `s` as it is: printable ASCII (nearly every string of a
/// model, checked a byte at a time) or every character kept.
fn unchanged(s: &str, drawable: &impl Fn(char) -> bool) -> bool {
    s.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) || s.chars().all(|c| kept(c, drawable))
}

/// A JSON value serialised with every string sanitised ([`sanitize_with`]; keys are ours and
/// left alone), without copying the tree: a string that needs no change is written as it is.
pub struct Sanitized<'a, D> {
    pub value: &'a Value,
    pub drawable: &'a D,
}

impl<D: Fn(char) -> bool> Serialize for Sanitized<'_, D> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let drawable = self.drawable;
        match self.value {
            Value::String(text) if unchanged(text, drawable) => s.serialize_str(text),
            Value::String(text) => s.serialize_str(&sanitize_with(text, drawable)),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for value in items {
                    seq.serialize_element(&Sanitized { value, drawable })?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut out = s.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    out.serialize_entry(key, &Sanitized { value, drawable })?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Sanitises every string in a JSON value (keys are ours and left alone). A string that needs
/// no change is not copied (nearly all of them: thousands of events make tens of MB of text).
pub fn sanitize_value_with(v: &mut Value, drawable: &impl Fn(char) -> bool) {
    match v {
        Value::String(s) if unchanged(s, drawable) => {}
        Value::String(s) => *s = sanitize_with(s, drawable),
        Value::Array(a) => a.iter_mut().for_each(|x| sanitize_value_with(x, drawable)),
        Value::Object(m) => m.values_mut().for_each(|x| sanitize_value_with(x, drawable)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_characters_are_spelled_out_and_the_rest_pass() {
        let ascii_only = |c: char| c.is_ascii();
        assert_eq!(sanitize_with("café\u{202E}\n", ascii_only), "caf[U+00E9][U+202E] ");
        assert_eq!(sanitize_with("a\u{200B}b c", |_| true), "a[U+200B]b c");
    }

    #[test]
    fn a_string_is_kept_exactly_when_sanitising_leaves_it_alone() {
        let ascii_only = |c: char| c.is_ascii();
        for s in [
            "plain text",
            "caf\u{e9}",
            "a\u{202E}b",
            "x\ny",
            "\u{85}",
            "a\u{2028}",
            "tab\t",
            "\u{200B}",
            "S01 02:00:00 279",
            "",
        ] {
            let mut v = Value::String(s.to_string());
            sanitize_value_with(&mut v, &ascii_only);
            assert_eq!(v, Value::String(sanitize_with(s, ascii_only)), "{s:?}");
            assert_eq!(s.chars().all(|c| kept(c, ascii_only)), sanitize_with(s, ascii_only) == s, "{s:?}");
        }
    }

    #[test]
    fn a_value_serialised_sanitised_is_the_value_sanitised_in_place() {
        let ascii_only = |c: char| c.is_ascii();
        let v = serde_json::json!({
            "a\u{202E}key": ["plain", "caf\u{e9}", {"x": "a\u{200B}b", "n": 3, "t": true, "z": null}],
            "s": "x\ny",
            "ok": "S01 failed"
        });
        let mut in_place = v.clone();
        sanitize_value_with(&mut in_place, &ascii_only);
        let serialised = serde_json::to_value(Sanitized {
            value: &v,
            drawable: &ascii_only,
        })
        .unwrap();
        assert_eq!(serialised, in_place);
        assert_eq!(serialised["s"], "x y");
        assert!(serialised.get("a\u{202E}key").is_some(), "keys are left alone");
    }
}
