//! Prose that organisations word themselves (executive summary, notification draft, Art. 33(5)
//! record), rendered from `report-templates/*.hbs` with handlebars in strict mode, so a
//! misspelt field is an error, never an empty string. The text produced is data for typst,
//! not markup: it is sanitised and read from JSON like every other string.

use std::collections::BTreeMap;

use handlebars::Handlebars;
use serde_json::Value;

use crate::error::{Error, Result};

/// Renders every `*.hbs` template against the model; returns name (without `.hbs`) → its
/// paragraphs (a blank line in the output separates paragraphs).
pub fn render_narrative(templates: &[(String, String)], model: &Value) -> Result<BTreeMap<String, Vec<String>>> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    // Output goes into JSON strings, never into markup, so no escaping is wanted here.
    hb.register_escape_fn(handlebars::no_escape);
    let mut out = BTreeMap::new();
    for (name, text) in templates.iter().filter(|(n, _)| n.ends_with(".hbs")) {
        let key = name.trim_end_matches(".hbs").to_string();
        hb.register_template_string(&key, text).map_err(|e| Error::Render {
            report: name.clone(),
            message: e.to_string(),
        })?;
        let rendered = hb.render(&key, model).map_err(|e| Error::Render {
            report: name.clone(),
            message: e.to_string(),
        })?;
        // Collapse template indentation and blank lines into flowing paragraphs separated by
        // one blank line.
        let paragraphs: Vec<String> = rendered
            .split("\n\n")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .collect();
        out.insert(key, paragraphs);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_mode_rejects_a_missing_field() {
        let t = vec![("x.hbs".to_string(), "Cost {{figures.nope}}".to_string())];
        let e = render_narrative(&t, &serde_json::json!({"figures": {}})).unwrap_err();
        assert!(matches!(e, Error::Render { .. }));
    }

    #[test]
    fn values_are_not_html_escaped() {
        let t = vec![("x.hbs".to_string(), "{{v}}".to_string())];
        let out = render_narrative(&t, &serde_json::json!({"v": "a & <b>"})).unwrap();
        assert_eq!(out["x"], vec!["a & <b>".to_string()]);
    }
}
