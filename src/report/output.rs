//! The only module that writes files. Every output is rendered in memory first, then written
//! to a temporary file in the output directory and renamed into place, so a failed run leaves
//! no half-written report.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// Writes all `(name, bytes)` outputs into `dir` atomically per file. If any temporary write
/// fails, the temporaries are removed and nothing is renamed.
///
/// # Errors
/// An output error naming the file that cannot be written; nothing is left half-written.
pub fn write_outputs(dir: &Path, outputs: Vec<(String, Vec<u8>)>) -> Result<Vec<PathBuf>> {
    let mut staged = Staged::new(dir)?;
    for (name, bytes) in outputs {
        staged.stage(&name, bytes);
    }
    staged.commit()
}

/// Outputs written to temporary files in `dir` as soon as each is rendered, each on a thread
/// of its own (write and sync), and renamed into place together by [`Staged::commit`]: the
/// disk work for a large `model.json` overlaps the typesetting of the PDFs. Dropped without
/// a commit (a later output failed), it waits for its writes and removes the temporaries, so
/// nothing is left half-written.
pub struct Staged {
    dir: PathBuf,
    /// (temporary, target, its write); empty once committed.
    files: Vec<(PathBuf, PathBuf, JoinHandle<io::Result<()>>)>,
}

impl Staged {
    /// Stages into `dir`, which is created now.
    ///
    /// # Errors
    /// An output error when `dir` cannot be created.
    pub fn new(dir: &Path) -> Result<Staged> {
        fs::create_dir_all(dir).map_err(|source| Error::Output {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Staged {
            dir: dir.to_path_buf(),
            files: Vec::new(),
        })
    }

    /// Starts writing `bytes` to the temporary file for `name`.
    pub fn stage(&mut self, name: &str, bytes: Vec<u8>) {
        let target = self.dir.join(name);
        let temp = self.dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let at = temp.clone();
        let write = std::thread::spawn(move || {
            let mut f = fs::File::create(&at)?;
            f.write_all(&bytes)?;
            f.sync_all()
        });
        self.files.push((temp, target, write));
    }

    /// Waits for every write, then renames each temporary into place.
    ///
    /// # Errors
    /// An output error naming the first file that could not be written or renamed; when a
    /// write failed, no file is renamed.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        let files = std::mem::take(&mut self.files);
        let mut written = Vec::new();
        let mut failed = None;
        for (temp, target, write) in files {
            let result = write
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the writing thread panicked")));
            if let (Err(source), None) = (result, &failed) {
                failed = Some(Error::Output {
                    path: target.clone(),
                    source,
                });
            }
            written.push((temp, target));
        }
        if let Some(e) = failed {
            for (temp, _) in &written {
                let _ = fs::remove_file(temp);
            }
            return Err(e);
        }
        let mut done = Vec::new();
        for (i, (temp, target)) in written.iter().enumerate() {
            if let Err(source) = fs::rename(temp, target) {
                for (temp, _) in &written[i..] {
                    let _ = fs::remove_file(temp);
                }
                return Err(Error::Output {
                    path: target.clone(),
                    source,
                });
            }
            done.push(target.clone());
        }
        Ok(done)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (temp, _, write) in self.files.drain(..) {
            let _ = write.join();
            let _ = fs::remove_file(temp);
        }
    }
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
    use super::{iocs_csv, Staged};
    use std::path::{Path, PathBuf};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("casefile-staged-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn staged_outputs_appear_together_on_commit() {
        let dir = scratch("commit");
        let mut staged = Staged::new(&dir).unwrap();
        staged.stage("model.json", b"{}\n".to_vec());
        staged.stage("a.pdf", b"%PDF".to_vec());
        assert!(
            !dir.join("model.json").exists() && !dir.join("a.pdf").exists(),
            "nothing in place before the commit"
        );
        let written = staged.commit().unwrap();
        assert_eq!(written, vec![dir.join("model.json"), dir.join("a.pdf")]);
        assert_eq!(names(&dir), ["a.pdf", "model.json"], "no temporary left");
        assert_eq!(std::fs::read(dir.join("a.pdf")).unwrap(), b"%PDF");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_uncommitted_or_failed_stage_leaves_nothing() {
        let dir = scratch("dropped");
        let mut staged = Staged::new(&dir).unwrap();
        staged.stage("model.json", vec![b'x'; 1 << 20]);
        drop(staged);
        assert!(names(&dir).is_empty(), "{:?}", names(&dir));
        let mut staged = Staged::new(&dir).unwrap();
        staged.stage("model.json", b"{}".to_vec());
        staged.stage("missing/a.pdf", b"%PDF".to_vec());
        let err = staged.commit().unwrap_err();
        assert!(format!("{err:?}").contains("a.pdf"), "{err:?}");
        assert!(names(&dir).is_empty(), "{:?}", names(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
