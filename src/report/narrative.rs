//! Prose that organisations word themselves (executive summary, notification draft, Art. 33(5)
//! record), rendered from `report-templates/*.hbs` with handlebars in strict mode, so a
//! misspelt field is an error, never an empty string. The text produced is data for typst,
//! not markup: it is sanitised and read from JSON like every other string.

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::{Context, Handlebars};
use serde_json::Value;

use crate::error::{Error, Result, TemplateError};

/// Where the templates come from: the `--templates` directory and the names taken from it.
/// An error in one of those is the user's input (exit 1); in a built-in one, casefile's
/// fault (exit 3).
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateOrigin<'a> {
    pub dir: Option<&'a Path>,
    pub user: &'a [String],
}

/// A handlebars error as a typed error at its template file, line and column.
fn template_error(name: &str, source: &str, pos: Option<(usize, usize)>, message: String, origin: TemplateOrigin) -> Error {
    let user = origin.dir.filter(|_| origin.user.iter().any(|n| n == name)).map(|d| d.join(name));
    Error::Template(Box::new(TemplateError {
        report: "narrative".to_string(),
        file: match &user {
            Some(path) => path.display().to_string(),
            None => format!("{name} (built-in)"),
        },
        line: pos.map(|p| p.0),
        column: pos.map(|p| p.1),
        text: pos
            .and_then(|(line, _)| source.lines().nth(line.saturating_sub(1)))
            .map(|l| l.trim().to_string()),
        message,
        hints: Vec::new(),
        user_supplied: user.is_some(),
    }))
}

/// Renders every `*.hbs` template against the model; returns name (without `.hbs`) → its
/// paragraphs (a blank line in the output separates paragraphs). The model is lent to
/// handlebars and handed back unchanged (`Handlebars::render` would copy the whole tree for
/// each template: hundreds of MB and most of a second with thousands of events).
///
/// # Errors
/// A template error naming the template file, line and column: a syntax error, or a field
/// the model does not have (strict mode).
pub fn render_narrative(
    templates: &[(String, String)],
    model: &mut Value,
    origin: TemplateOrigin,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut ctx = Context::from(std::mem::take(model));
    let out = render_all(templates, &ctx, origin);
    *model = std::mem::take(ctx.data_mut());
    out
}

fn render_all(templates: &[(String, String)], ctx: &Context, origin: TemplateOrigin) -> Result<BTreeMap<String, Vec<String>>> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    // Output goes into JSON strings, never into markup, so no escaping is wanted here.
    hb.register_escape_fn(handlebars::no_escape);
    let mut out = BTreeMap::new();
    for (name, text) in templates.iter().filter(|(n, _)| n.ends_with(".hbs")) {
        let key = name.trim_end_matches(".hbs").to_string();
        hb.register_template_string(&key, text)
            .map_err(|e| template_error(name, text, e.pos(), e.reason().to_string(), origin))?;
        let rendered = hb.render_with_context(&key, ctx).map_err(|e| {
            let pos = e.line_no.zip(e.column_no);
            template_error(name, text, pos, e.reason().to_string(), origin)
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
    fn strict_mode_rejects_a_missing_field_in_a_built_in_template_as_internal() {
        let t = vec![("x.hbs".to_string(), "Cost\n{{figures.nope}}".to_string())];
        let e = render_narrative(&t, &mut serde_json::json!({"figures": {}}), TemplateOrigin::default()).unwrap_err();
        let Error::Template(te) = &e else { panic!("{e:?}") };
        assert_eq!((te.file.as_str(), te.line), ("x.hbs (built-in)", Some(2)));
        assert_eq!(e.exit_code(), 3);
    }

    #[test]
    fn a_broken_user_template_is_bad_input_at_its_file_and_line() {
        let t = vec![("x.hbs".to_string(), "Dear {{subject}},\n{{#if figures}}unclosed".to_string())];
        let user = ["x.hbs".to_string()];
        let origin = TemplateOrigin {
            dir: Some(Path::new("mine")),
            user: &user,
        };
        let e = render_narrative(&t, &mut serde_json::json!({"subject": "a"}), origin).unwrap_err();
        let Error::Template(te) = &e else { panic!("{e:?}") };
        assert_eq!(te.file, Path::new("mine").join("x.hbs").display().to_string());
        assert!(te.line.is_some(), "{te:?}");
        assert!(te.user_supplied);
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn values_are_not_html_escaped() {
        let t = vec![("x.hbs".to_string(), "{{v}}".to_string())];
        let mut model = serde_json::json!({"v": "a & <b>"});
        let out = render_narrative(&t, &mut model, TemplateOrigin::default()).unwrap();
        assert_eq!(model, serde_json::json!({"v": "a & <b>"}), "the model is handed back");
        assert_eq!(out["x"], vec!["a & <b>".to_string()]);
    }
}
