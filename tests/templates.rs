//! Template errors are typed: a typst diagnostic names the template file, line, column and
//! text; a template the user supplied is bad input (exit 1).

use crate::util::{report, sample, stderr, temp_dir};

#[test]
fn a_broken_user_typst_template_exits_1_naming_file_line_and_text() {
    let tpl = temp_dir("tpl-typst-broken");
    std::fs::write(
        tpl.join("executive.typ"),
        "#set page(paper: \"a4\")\n\n= Summary\n#let x = 1\n#no-such-function(x)\n",
    )
    .unwrap();
    let out = temp_dir("tpl-typst-broken-out");
    let o = report(&sample(), &out, &["--templates", tpl.to_str().unwrap(), "--kind", "executive"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let path = tpl.join("executive.typ").display().to_string();
    assert!(err.contains(&format!("{path}:5:2")), "file, line and column: {err}");
    assert!(err.contains("no-such-function"), "offending text: {err}");
    assert!(err.contains("unknown variable"), "typst's message: {err}");
    assert!(std::fs::read_dir(&out).unwrap().next().is_none(), "nothing may be written");
}

/// The Art. 34 data-subject letter, replaced by the user with a syntax error on line 3.
#[test]
fn a_broken_user_handlebars_template_exits_1_naming_file_and_line() {
    let tpl = temp_dir("tpl-hbs-broken");
    std::fs::write(
        tpl.join("subject-communication.hbs"),
        "Subject: Important information about your personal data\n\nDear {{#if controller}}Sir or Madam,\n",
    )
    .unwrap();
    let out = temp_dir("tpl-hbs-broken-out");
    let o = report(&sample(), &out, &["--templates", tpl.to_str().unwrap(), "--kind", "executive"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let path = tpl.join("subject-communication.hbs").display().to_string();
    assert!(err.contains(&format!("--> {path}:")), "file: {err}");
    assert!(!err.contains("built-in template"), "it is the user's template: {err}");
    assert!(std::fs::read_dir(&out).unwrap().next().is_none(), "nothing may be written");
}

/// A user template naming a field the model does not have fails in strict mode, at its line.
#[test]
fn a_user_handlebars_template_with_an_unknown_field_exits_1_at_its_line() {
    let tpl = temp_dir("tpl-hbs-field");
    std::fs::write(
        tpl.join("executive-summary.hbs"),
        "{{case.title}}\n\nThe attacker was {{analysis.no_such_field}}.\n",
    )
    .unwrap();
    let out = temp_dir("tpl-hbs-field-out");
    let o = report(&sample(), &out, &["--templates", tpl.to_str().unwrap(), "--kind", "executive"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let path = tpl.join("executive-summary.hbs").display().to_string();
    assert!(err.contains(&format!("--> {path}:3:")), "file and line: {err}");
    assert!(err.contains("analysis.no_such_field"), "offending text: {err}");
    assert!(std::fs::read_dir(&out).unwrap().next().is_none(), "nothing may be written");
}
