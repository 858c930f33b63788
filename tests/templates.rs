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

/// No template function names the whole model (`m`, or a report's `a = m.analysis`): typst
/// hashes what a function captures the first time it is called, and with thousands of
/// attacker steps the model is tens of MB, so each such function cost a whole-model hash
/// (tens of milliseconds). Functions read the small parts `common.typ` binds (`model-*`).
#[test]
fn no_template_function_captures_the_whole_model() {
    let dir = crate::util::root().join("report-templates");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "typ") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // The names bound to the model or its analysis at the top of this file.
        let mut whole = vec!["m"];
        if lines.iter().any(|l| l.starts_with("#let a = m.analysis")) {
            whole.push("a");
        }
        for (i, line) in lines.iter().enumerate() {
            // A function: `#let name(` (a destructuring `#let (a, b) =` is not one).
            let Some(def) = line.strip_prefix("#let ").filter(|d| {
                let name = d.split('(').next().unwrap_or("");
                !name.is_empty() && d.len() > name.len() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            }) else {
                continue;
            };
            let params = def.split_once('(').and_then(|(_, r)| r.split_once(')')).map_or("", |(p, _)| p);
            let end = lines[i + 1..]
                .iter()
                .position(|l| l.starts_with('#') || l.starts_with('='))
                .map_or(lines.len(), |n| i + 1 + n);
            let body = lines[i..end].join("\n");
            for name in &whole {
                let is_param = params.split([',', ':', ' ']).any(|p| p.trim() == *name);
                if !is_param && names_field_of(&body, name) {
                    found.push(format!("{}:{} {name}", path.file_name().unwrap().to_string_lossy(), i + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "functions naming the whole model: {found:?}");
}

/// Whether `body` reads a field of the variable `name` (`name.field`, not `x-name.field`).
fn names_field_of(body: &str, name: &str) -> bool {
    let b = body.as_bytes();
    body.match_indices(&format!("{name}.")).any(|(at, m)| {
        let before = at.checked_sub(1).map(|j| b[j]);
        // `x.name.f` is a field of x; `..name.f` spreads name's field.
        let spread = at >= 2 && &b[at - 2..at] == b"..";
        let part_of_other = before.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || (c == b'.' && !spread));
        let after = b.get(at + m.len()).copied();
        !part_of_other && after.is_some_and(|c| c.is_ascii_lowercase())
    })
}

/// `step-ids` (common.typ), which prints every long list of step references (a password
/// spray's thousands): runs of 20 or more consecutive numbers with one suffix read as a range,
/// in number order whatever the list's order; ids that are not step numbers follow; a short
/// list is printed as given. Rendered through a user template that calls the built-in helper.
#[test]
fn long_step_lists_print_as_ranges_in_number_order() {
    let ids = |range: std::ops::RangeInclusive<u32>, suffix: &str| -> Vec<String> { range.map(|n| format!("S{n:02}{suffix}")).collect() };
    let list = |ids: &[String]| format!("({})", ids.iter().map(|i| format!("\"{i}\", ")).collect::<String>());
    let mut reversed = ids(1..=40, "");
    reversed.reverse();
    let mut mixed = ids(1..=25, " failed");
    mixed.insert(3, "L1".into());
    mixed.extend(ids(26..=27, ""));
    let mut gap = ids(5..=29, "");
    gap.push("S03".into());
    gap.push("S31".into());
    let cases = [
        (list(&ids(1..=30, "")), "S01–S30"),
        (list(&reversed), "S01–S40"),
        (list(&mixed), "S01–S25 failed, S26, S27, L1"),
        (list(&gap), "S03, S05–S29, S31"),
        (list(&["S09".into(), "S02".into(), "L1".into()]), "S09, S02, L1"),
    ];
    let body: String = cases
        .iter()
        .enumerate()
        .map(|(i, (l, _))| format!("CASE{i}: #step-ids({l}) END\n\n"))
        .collect();
    let tpl = temp_dir("tpl-step-ids");
    std::fs::write(
        tpl.join("executive.typ"),
        format!("#import \"common.typ\": step-ids\n#set page(width: 40cm, height: auto)\n\n{body}"),
    )
    .unwrap();
    let out = temp_dir("tpl-step-ids-out");
    let o = report(&sample(), &out, &["--templates", tpl.to_str().unwrap(), "--kind", "executive"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = crate::pdf::squash(&crate::pdf::pdf_text(&out.join("executive.pdf")));
    for (i, (_, want)) in cases.iter().enumerate() {
        let want = crate::pdf::squash(&format!("CASE{i}: {want} END"));
        assert!(text.contains(&want), "case {i}: want {want} in {text}");
    }
}
