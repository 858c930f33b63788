//! The only module that writes files. Every output is rendered in memory first, then written
//! to a temporary file in the output directory and renamed into place, so a failed run leaves
//! no half-written report.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes all `(name, bytes)` outputs into `dir` atomically per file. If any temporary write
/// fails, the temporaries are removed and nothing is renamed.
///
/// # Errors
/// An output error naming the file that cannot be written; nothing is left half-written.
pub fn write_outputs(dir: &Path, outputs: &[(String, Vec<u8>)]) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).map_err(|source| Error::Output {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |temps: &[(PathBuf, PathBuf)]| {
        for (t, _) in temps {
            let _ = fs::remove_file(t);
        }
    };
    for (name, bytes) in outputs {
        let target = dir.join(name);
        let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let written = fs::File::create(&temp).and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
        if let Err(source) = written {
            let _ = fs::remove_file(&temp);
            cleanup(&temps);
            return Err(Error::Output { path: target, source });
        }
        temps.push((temp, target));
    }
    let mut done = Vec::new();
    for (temp, target) in &temps {
        fs::rename(temp, target).map_err(|source| Error::Output {
            path: target.clone(),
            source,
        })?;
        done.push(target.clone());
    }
    Ok(done)
}

/// The model's indicators of compromise (`analysis.iocs`, paths already bundle-relative) as
/// CSV, for a SIEM watch list or a block list.
///
/// # Errors
/// A render error when the model has no IOC list of the expected shape.
pub fn iocs_csv(model: &serde_json::Value) -> Result<Vec<u8>> {
    let fail = |e: &dyn std::fmt::Display| Error::Render {
        report: "iocs.csv".into(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "type",
        "value",
        "role",
        "first_seen_utc",
        "last_seen_utc",
        "steps",
        "evidence",
        "use",
    ])
    .map_err(|e| fail(&e))?;
    let empty = Vec::new();
    let iocs = model["analysis"]["iocs"].as_array().unwrap_or(&empty);
    // Values and evidence paths are attacker-controlled: a leading `=`, `+`, `-` or `@` must
    // not become a spreadsheet formula.
    let text = |v: &serde_json::Value| crate::soc::timeline::spreadsheet_safe(v.as_str().unwrap_or(""));
    for i in iocs {
        let list = |key: &str, f: &dyn Fn(&serde_json::Value) -> String, sep: &str| {
            i[key]
                .as_array()
                .map(|a| a.iter().map(f).collect::<Vec<_>>().join(sep))
                .unwrap_or_default()
        };
        let evidence = list(
            "evidence",
            &|e| {
                let mut s = e["file"].as_str().unwrap_or("").to_string();
                if let Some(l) = e["line"].as_u64() {
                    s.push_str(&format!(":{l}"));
                }
                if let Some(p) = e["path"].as_str() {
                    s.push_str(&format!(" {p}"));
                }
                s
            },
            "; ",
        );
        w.write_record([
            text(&i["kind_label"]),
            text(&i["value"]),
            text(&i["role"]),
            text(&i["first_seen"]),
            text(&i["last_seen"]),
            list("steps", &text, " "),
            crate::soc::timeline::spreadsheet_safe(&evidence),
            text(&i["use_label"]),
        ])
        .map_err(|e| fail(&e))?;
    }
    w.into_inner().map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::iocs_csv;

    #[test]
    fn ioc_values_that_look_like_formulas_stay_text() {
        let model = serde_json::json!({"analysis": {"iocs": [{
            "kind_label": "User agent",
            "value": "=HYPERLINK(\"http://x\",\"y\")",
            "role": "@SUM(1)",
            "first_seen": "2024-01-01T00:00:00Z",
            "last_seen": "2024-01-01T00:00:00Z",
            "steps": ["S1"],
            "evidence": [{"file": "+evil.csv", "line": 2}]
        }]}});
        let csv = String::from_utf8(iocs_csv(&model).unwrap()).unwrap();
        let row = csv.lines().nth(1).unwrap();
        assert!(row.contains("\"'=HYPERLINK"), "{row}");
        assert!(row.contains(",'@SUM(1),"), "{row}");
        assert!(row.ends_with(",'+evil.csv:2,"), "{row}");
    }
}
