//! `casefile init <DIR>`: recognises every export in a folder (and in its sub-folders, such
//! as a diagnostic archive's `…/PT1H.json` tree) and writes a `case.toml` that lists them,
//! with their kinds and time spans as comments, `as_of` just after the last record, and the
//! sections the analyst still has to fill in commented out. It never overwrites a case file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::bundle::{recommendations, Registry, SourceKind, Span};
use crate::error::{Error, InputError, Location, Result};
use crate::input::table;
use crate::types::Timestamp;

/// What init learnt about one file.
struct Found {
    path: PathBuf,
    /// The kind, or why the file was not recognised.
    kind: std::result::Result<SourceKind, String>,
    records: u64,
    span: Span,
}

/// Every regular file under `dir`, sorted, skipping hidden entries and case.toml.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::from(InputError::new("export folder", "cannot read directory", Location::file(dir)).found(&e.to_string())))?;
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "case.toml" {
            continue;
        }
        if p.is_dir() && depth < 12 {
            files_under(&p, out, depth + 1)?;
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

/// Recognises one file and reads its records for their count and time span.
fn recognise(registry: &Registry, path: &Path) -> Found {
    let kind = match table::peek(path, "export") {
        Err(e) => Err(format!("cannot be read: {e}")),
        Ok(p) => registry.detect(&p.names).ok_or_else(|| match registry.closest(&p.names) {
            Some((sig, lacks)) => format!("matches no source; looks like {} but has no {lacks}", sig.shape),
            None => "matches no source".to_string(),
        }),
    };
    let survey = match &kind {
        Ok(k) => k.source().survey(path),
        Err(_) => Ok((0, Span::default())),
    };
    match survey {
        Ok((records, span)) => Found {
            path: path.to_path_buf(),
            kind,
            records,
            span,
        },
        Err(e) => Found {
            path: path.to_path_buf(),
            kind: Err(format!(
                "recognised but a record cannot be read: {}",
                e.render().lines().next().unwrap_or("")
            )),
            records: 0,
            span: Span::default(),
        },
    }
}

fn span_text(s: &Span) -> String {
    match (s.first, s.last) {
        (Some(a), Some(b)) => format!(", {} → {}", a.rfc3339(), b.rfc3339()),
        _ => String::new(),
    }
}

/// The case file's text for what was found in `dir`.
fn case_text(dir: &Path, found: &[Found]) -> String {
    let rel = |p: &Path| p.strip_prefix(dir).unwrap_or(p).to_string_lossy().replace('\\', "/");
    let last = found.iter().filter_map(|f| f.span.last).max();
    let as_of = last.map_or_else(
        || "2000-01-01T00:00:00Z".to_string(),
        |t| Timestamp(t.0 + chrono::Duration::seconds(1)).rfc3339(),
    );
    let mut s = String::from("# Written by `casefile init`: check every value, then run `casefile validate`.\n");
    if let Some(r) = found.iter().find(|f| f.kind == Ok(recommendations::KIND)) {
        let _ = writeln!(
            s,
            "recommendations = {:?}   # Defender for Cloud recommendations export",
            rel(&r.path)
        );
    }
    let _ = write!(
        s,
        "\n[case]\nid = \"CASE-1\"                      # your case reference\ntitle = \"Untitled incident\"\norganisation = \"Your organisation\"\ntimezone = \"UTC\"                   # IANA zone used to display times\nas_of = \"{as_of}\"   # just after the last record; the reports' as-of time\n"
    );
    s.push_str(
        "\n# [environment]                     # what is normal here; proves gaps such as a VM in a foreign region\n# approved_regions = [\"westeurope\"]\n# trusted_countries = [\"GB\"]\n# trusted_ip_ranges = [\"203.0.113.0/24\"]\n\
         \n# [scope]                           # the attacker, if known; otherwise inferred from alerts and risk\n# attacker_identities = []\n# attacker_ips = []\n\
         \n# [gdpr]                            # without it GDPR is \"not assessed\"\n# aware_at = \"2024-01-01T00:00:00Z\"\n# controller = \"…\"\n# lead_authority = \"…\"\n# authority_country = \"…\"          # ISO 3166-1 alpha-2, for the deadline's holiday check\n\
         \n# [[data]]                          # the data inventory, per storage container\n# account = \"…\"\n# container = \"…\"\n# records = 0\n# subjects = 0\n",
    );
    for f in found {
        match &f.kind {
            Ok(k) if *k == recommendations::KIND => {}
            Ok(k) => {
                let _ = write!(
                    s,
                    "\n[[evidence]]\npath = {:?}\nkind = {:?}   # {}: {} records{}\n",
                    rel(&f.path),
                    k.key(),
                    k.describe(),
                    f.records,
                    span_text(&f.span)
                );
            }
            Err(why) => {
                let _ = write!(
                    s,
                    "\n# {why}\n# (list it with kind = \"other\" to keep it in the evidence inventory)\n# [[evidence]]\n# path = {:?}\n# kind = \"other\"\n",
                    rel(&f.path)
                );
            }
        }
    }
    s
}

/// Scans `dir` and writes `dir/case.toml`; returns what to print.
///
/// # Errors
/// An input error when `dir` cannot be read or already holds a case.toml; an output error
/// when the case file cannot be written.
pub fn init(dir: &Path) -> Result<String> {
    let target = dir.join("case.toml");
    if target.exists() {
        return Err(InputError::new("case folder", "case.toml already exists", Location::file(&target))
            .expected("a folder without a case.toml (casefile init never overwrites one)")
            .into());
    }
    let mut paths = Vec::new();
    files_under(dir, &mut paths, 0)?;
    let registry = Registry::default();
    let found: Vec<Found> = paths.iter().map(|p| recognise(&registry, p)).collect();
    let text = case_text(dir, &found);
    crate::report::output::write_outputs(dir, vec![("case.toml".to_string(), text.into_bytes())])?;
    let recognised = found.iter().filter(|f| f.kind.is_ok()).count();
    Ok(format!(
        "wrote {}: {recognised} of {} files recognised\n",
        target.display(),
        found.len()
    ))
}
