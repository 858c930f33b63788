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
