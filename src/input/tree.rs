//! Evidence given as a directory or a glob instead of one file: a diagnostic-settings archive
//! downloaded as it is (`insights-logs-storageread/resourceId=…/y=2024/m=03/d=20/h=08/m=00/
//! PT1H.json`). `[[evidence]] path = "logs/"` takes every file under the directory;
//! `path = "logs/**/PT1H.json"` every file matching the glob (`*` stays within one directory,
//! `**` crosses them). Files are taken in sorted path order, so results never depend on the
//! order the file system lists them in; each file is then an evidence file of its own
//! (hashed and listed in the inventory), and the tree gets one digest over the sorted list
//! and a summary: files, records, span, and gaps in the hourly sequence.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::bundle::FileReport;
use crate::types::Timestamp;

/// An evidence entry that named several files.
#[derive(Debug, Clone, Serialize)]
pub struct Tree {
    /// The entry as written in case.toml.
    pub pattern: String,
    /// The files it matched, sorted.
    pub files: Vec<PathBuf>,
}

/// Whether an evidence path (as written) is a glob.
pub fn is_glob(rel: &str) -> bool {
    rel.contains(['*', '?', '[', '{'])
}

/// Whether an evidence path (as written) names a directory.
pub fn is_directory(bundle: &Path, rel: &str) -> bool {
    rel.ends_with('/') || bundle.join(rel).is_dir()
}

/// The files an evidence entry names, sorted: None when it names one file. An error says
/// why the entry cannot be expanded (a bad glob, an unreadable directory, no match).
///
/// # Errors
/// Why the pattern matches nothing (no such directory, no file matching the glob).
pub fn expand(bundle: &Path, rel: &str) -> Result<Option<Vec<PathBuf>>, String> {
    let glob = is_glob(rel);
    if !glob && !is_directory(bundle, rel) {
        return Ok(None);
    }
    let (base, matcher) = if glob {
        let base: PathBuf = Path::new(rel)
            .components()
            .take_while(|c| matches!(c, Component::Normal(s) if !is_glob(&s.to_string_lossy())))
            .collect();
        let m = globset::GlobBuilder::new(rel)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("invalid glob ({e})"))?
            .compile_matcher();
        (base, Some(m))
    } else {
        (PathBuf::from(rel.trim_end_matches('/')), None)
    };
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(bundle.join(&base)).sort_by_file_name() {
        let entry = entry.map_err(|e| format!("cannot list the directory ({e})"))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.into_path();
        let keep = match &matcher {
            Some(m) => path.strip_prefix(bundle).is_ok_and(|p| m.is_match(p)),
            None => true,
        };
        if keep {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err("no files match".into());
    }
    Ok(Some(files))
}

/// What `validate` says about a tree.
#[derive(Debug, Clone, Serialize)]
pub struct TreeSummary {
    pub pattern: String,
    pub files: usize,
    pub records: u64,
    pub bytes: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// SHA-256 over the sorted list of "sha256  path" lines (paths relative to the bundle).
    pub digest: String,
    /// Hours with no file between the first and the last hour present, as (from, to) hour
    /// starts, inclusive.
    pub gaps: Vec<(Timestamp, Timestamp)>,
}

/// Summarises a tree from its files' reports (read already).
pub fn summarise(tree: &Tree, bundle: &Path, reports: &[FileReport]) -> TreeSummary {
    let mut by_path: std::collections::HashMap<&Path, &FileReport> = std::collections::HashMap::new();
    for r in reports {
        by_path.entry(r.path.as_path()).or_insert(r);
    }
    let mine: Vec<&FileReport> = tree.files.iter().filter_map(|p| by_path.get(p.as_path()).copied()).collect();
    let mut hasher = Sha256::new();
    for r in &mine {
        let rel = r.path.strip_prefix(bundle).unwrap_or(&r.path);
        hasher.update(format!("{}  {}\n", r.sha256, rel.display()).as_bytes());
    }
    let hours: BTreeSet<i64> = mine
        .iter()
        .filter_map(|r| hour_of_path(&r.path).or_else(|| r.first.map(|t| t.0.timestamp().div_euclid(3600))))
        .collect();
    TreeSummary {
        pattern: tree.pattern.clone(),
        files: mine.len(),
        records: mine.iter().map(|r| r.records).sum(),
        bytes: mine.iter().map(|r| r.bytes).sum(),
        first: mine.iter().filter_map(|r| r.first).min(),
        last: mine.iter().filter_map(|r| r.last).max(),
        digest: crate::input::chunk::hex(&hasher.finalize()),
        gaps: gaps(&hours),
    }
}

/// The hour a diagnostic-settings blob covers, from its `y=/m=/d=/h=` path segments.
pub fn hour_of_path(path: &Path) -> Option<i64> {
    let mut ymdh: [Option<u32>; 4] = [None; 4];
    let mut seen_month = false;
    for c in path.components() {
        let s = c.as_os_str().to_string_lossy();
        let Some((k, v)) = s.split_once('=') else { continue };
        let Ok(n) = v.parse::<u32>() else { continue };
        match k {
            "y" => ymdh[0] = Some(n),
            // `m=` appears twice: month, then minute after `h=`.
            "m" if !seen_month => {
                ymdh[1] = Some(n);
                seen_month = true;
            }
            "d" => ymdh[2] = Some(n),
            "h" => ymdh[3] = Some(n),
            _ => {}
        }
    }
    let [Some(y), Some(m), Some(d), Some(h)] = ymdh else { return None };
    let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
    let at = date.and_hms_opt(h, 0, 0)?.and_utc();
    Some(at.timestamp().div_euclid(3600))
}

fn gaps(hours: &BTreeSet<i64>) -> Vec<(Timestamp, Timestamp)> {
    let at = |h: i64| DateTime::<Utc>::from_timestamp(h * 3600, 0).map(Timestamp);
    let mut out = Vec::new();
    let mut prev: Option<i64> = None;
    for &h in hours {
        if let Some(p) = prev {
            if h > p + 1 {
                if let (Some(a), Some(b)) = (at(p + 1), at(h - 1)) {
                    out.push((a, b));
                }
            }
        }
        prev = Some(h);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_archive_paths_give_their_hour() {
        let p = Path::new("logs/resourceId=/SUB/y=2024/m=03/d=20/h=08/m=00/PT1H.json");
        let h = hour_of_path(p).unwrap();
        assert_eq!(
            DateTime::<Utc>::from_timestamp(h * 3600, 0).unwrap().to_rfc3339(),
            "2024-03-20T08:00:00+00:00"
        );
        assert_eq!(hour_of_path(Path::new("logs/storage.csv")), None);
    }

    #[test]
    fn missing_hours_are_reported_as_ranges() {
        let hours: BTreeSet<i64> = [10, 11, 14, 15, 17].into_iter().collect();
        let g = gaps(&hours);
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].0 .0.timestamp() / 3600, g[0].1 .0.timestamp() / 3600), (12, 13));
        assert_eq!((g[1].0 .0.timestamp() / 3600, g[1].1 .0.timestamp() / 3600), (16, 16));
    }
}
