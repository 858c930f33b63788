//! Reads a Defender for Cloud recommendations export: the portal's "Download CSV report"
//! (also saved as .xlsx by Excel), the SecurityRecommendation Log Analytics table, and
//! assessments JSON from REST, Resource Graph or continuous export. Never reads evidence.

use std::collections::BTreeMap;
use std::path::Path;

use calamine::{open_workbook, DataRef, Reader, Xlsx};
use serde::Serialize;

use crate::error::{Error, InputError, Location, Result};
use crate::input::table::{self as records, Row, Visit};
use crate::types::{ResourceId, Timestamp};

const WHAT: &str = "recommendations export";

/// An assessment's state (`Healthy|Unhealthy|NotApplicable|Removed`, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecState {
    Healthy,
    Unhealthy,
    NotApplicable,
    Removed,
}

/// One assessment of one resource.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// Assessment key GUID, lower-cased.
    pub key: String,
    pub name: String,
    pub severity: Option<String>,
    pub state: RecState,
    pub resource_id: Option<ResourceId>,
    pub first_evaluated: Option<Timestamp>,
    pub status_changed: Option<Timestamp>,
    /// Scan or export time, used to keep the latest row per resource and key.
    #[serde(skip)]
    pub observed: Option<Timestamp>,
    pub origin: Location,
}

impl Recommendation {
    /// Since when the current state has held: the status-change date, else first evaluation.
    pub fn state_since(&self) -> Option<Timestamp> {
        self.status_changed.or(self.first_evaluated)
    }
    /// The assessed resource's own name, for tables.
    pub fn resource_name(&self) -> String {
        self.resource_id
            .as_ref()
            .map(|r| r.name().to_string())
            .unwrap_or_else(|| "(no resource)".into())
    }
}

fn is_guid(s: &str) -> bool {
    let s = s.trim();
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The GUID after `/assessments/` in an assessment resource id.
fn key_from_id(id: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    let i = lower.rfind("/assessments/")?;
    let key = &lower[i + "/assessments/".len()..];
    is_guid(key).then(|| key.to_string())
}

fn parse_row(row: &Row) -> Result<Recommendation> {
    let id_text = row.string(&["recommendationid", "id"]);
    let key = row
        .string(&["recommendationname", "name", "assessmentkey"])
        .filter(|k| is_guid(k))
        .or_else(|| id_text.as_deref().and_then(key_from_id))
        .map(|k| k.to_ascii_lowercase());
    let Some(key) = key else {
        let f = row.required(WHAT, &["recommendationname", "name", "recommendationid"])?;
        return Err(row.bad(
            WHAT,
            "no assessment key",
            f,
            "an assessment key GUID (recommendationName) or an id ending in /assessments/<GUID>",
        ));
    };
    let state_field = row.required(WHAT, &["state", "recommendationstate", "properties.status.code", "status.code"])?;
    let state = match state_field.value.trim().to_ascii_lowercase().as_str() {
        "healthy" => RecState::Healthy,
        "unhealthy" => RecState::Unhealthy,
        "notapplicable" | "not applicable" => RecState::NotApplicable,
        "removed" => RecState::Removed,
        _ => return Err(row.bad(WHAT, "unknown state", state_field, "healthy, unhealthy, notApplicable or removed")),
    };
    let resource_id = row
        .string(&[
            "resourceid",
            "assessedresourceid",
            "properties.resourcedetails.id",
            "properties.resourcedetails.azureresourceid",
        ])
        .or_else(|| {
            id_text.as_deref().and_then(|id| {
                let lower = id.to_ascii_lowercase();
                lower
                    .find("/providers/microsoft.security/assessments/")
                    .map(|i| id[..i].to_string())
            })
        })
        .map(|r| ResourceId::new(&r));
    Ok(Recommendation {
        name: row
            .string(&["recommendationdisplayname", "properties.displayname", "displayname"])
            .or_else(|| row.string(&["recommendationname"]).filter(|n| !is_guid(n)))
            .unwrap_or_else(|| key.clone()),
        key,
        severity: row.string(&["severity", "recommendationseverity", "properties.metadata.severity"]),
        state,
        resource_id,
        first_evaluated: row.opt_timestamp(WHAT, &["firstevaluationdate", "properties.status.firstevaluationdate"])?,
        status_changed: row.opt_timestamp(WHAT, &["statuschangedate", "properties.status.statuschangedate"])?,
        // Continuous export has no scan time; the status-change date orders its events.
        observed: match row.opt_timestamp(WHAT, &["timegenerated", "exportedtimestamp"])? {
            Some(t) => Some(t),
            None => row.opt_timestamp(WHAT, &["statuschangedate", "properties.status.statuschangedate"])?,
        },
        origin: row.location().clone(),
    })
}

/// What was read from one export.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendationExport {
    pub path: std::path::PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub records: u64,
    /// Rows superseded by a later row for the same resource and key (continuous export).
    pub superseded: u64,
    pub exported_at: Option<Timestamp>,
    pub items: Vec<Recommendation>,
    /// What the export cannot say (e.g. it has no rows), for data quality and `validate`.
    pub warnings: Vec<String>,
}

/// Reads a recommendations export of any supported shape.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_recommendations(path: &Path) -> Result<RecommendationExport> {
    load(path, Raw::File)
}

/// [`load_recommendations`] over bytes in memory (the fuzz harness): `name` stands for the
/// file in messages and, by its extension, tells a workbook from text.
///
/// # Errors
/// An input error naming the file, record and field of the first record that cannot be read.
pub fn load_recommendations_from(name: &Path, bytes: &[u8]) -> Result<RecommendationExport> {
    load(name, Raw::Bytes(bytes))
}

/// Where an export's bytes are: in the named file, or in memory.
#[derive(Clone, Copy)]
enum Raw<'a> {
    File,
    Bytes(&'a [u8]),
}

fn load(path: &Path, raw: Raw) -> Result<RecommendationExport> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let mut all = Vec::new();
    // A continuous-export file also carries alerts and other events: only its assessments
    // are recommendations; the rest are counted (the evidence reader names them).
    let mut other_records = 0u64;
    let mut visit = |row: &Row| -> Result<Visit> {
        match crate::bundle::mixed::ExportRecord::of(row) {
            None | Some(crate::bundle::mixed::ExportRecord::Assessment) => all.push(parse_row(row)?),
            Some(_) => other_records += 1,
        }
        Ok(Visit::Continue)
    };
    let info = if ["xlsx", "xlsm"].contains(&ext.as_str()) {
        // calamine's cell-reference arithmetic can overflow on hostile files (fuzzing found
        // it; a panic in builds with overflow checks): contain a third-party panic as an
        // input error rather than let it end the run.
        let (sheet, rows) = std::panic::catch_unwind(|| match raw {
            Raw::File => read_workbook(path, open_workbook(path)),
            Raw::Bytes(b) => read_workbook(path, Xlsx::new(std::io::Cursor::new(b.to_vec()))),
        })
        .unwrap_or_else(|_| {
            Err(InputError::new(WHAT, "unreadable workbook", Location::file(path))
                .expected("a well-formed .xlsx workbook (the spreadsheet reader failed on this one)")
                .into())
        })?;
        records::read_sheet(path, &sheet, rows, &mut visit)?
    } else {
        match raw {
            Raw::File => records::read_table(path, WHAT, &mut visit)?,
            Raw::Bytes(b) => {
                let input = records::open_reader(path, WHAT, std::io::Cursor::new(b.to_vec()))?;
                records::read_table_from(path, WHAT, input, &mut visit)?
            }
        }
    };
    let mut warnings = Vec::new();
    if other_records > 0 {
        warnings.push(format!(
            "{other_records} records are not assessments (alerts, sub-assessments, scores) and are not recommendations"
        ));
    }
    let total = all.len() as u64;
    if total == 0 && other_records > 0 {
        return Err(InputError::new(WHAT, "no recommendations", Location::file(path))
            .expected("assessment records (Microsoft.Security/assessments); this file has only other event types")
            .into());
    }
    if info.records == 0 {
        // A header and no rows is what the portal writes for a subscription with nothing to
        // report, and an API page can be empty: a valid, empty export. A header that is not a
        // recommendations header is a different file.
        let recognised = info.columns.is_empty()
            || crate::bundle::Registry::default().detect(&info.columns) == Some(crate::bundle::recommendations::KIND);
        if !recognised {
            return Err(InputError::new(WHAT, "no recommendations", Location::file(path))
                .found(&info.columns.iter().take(6).cloned().collect::<Vec<_>>().join(", "))
                .expected("a recommendations export header (e.g. recommendationName, state) or assessment rows")
                .into());
        }
        warnings.push("the export lists no assessments: no control can be proven missing from it, only from the evidence".to_string());
    }
    // Continuous export repeats an assessment on every change; keep the latest row per
    // (resource, key) (formats.md §1.2).
    let mut latest: BTreeMap<(String, String), Recommendation> = BTreeMap::new();
    let exported_at = all.iter().filter_map(|r| r.observed).max();
    for r in all {
        let k = (
            r.resource_id.as_ref().map(|x| x.key().to_string()).unwrap_or_default(),
            r.key.clone(),
        );
        match latest.get(&k) {
            Some(prev) if prev.observed >= r.observed => {}
            _ => {
                latest.insert(k, r);
            }
        }
    }
    let items: Vec<Recommendation> = latest.into_values().collect();
    let (sha256, bytes) = match raw {
        Raw::File => crate::input::hash::hash_file(path, WHAT)?,
        Raw::Bytes(b) => {
            use sha2::Digest;
            (crate::input::chunk::hex(&sha2::Sha256::digest(b)), b.len() as u64)
        }
    };
    Ok(RecommendationExport {
        path: path.to_path_buf(),
        sha256,
        bytes,
        records: total,
        superseded: total - items.len() as u64,
        exported_at,
        items,
        warnings,
    })
}

/// Excel's last column (XFD); a cell reference beyond it is not from a real workbook.
const MAX_COLUMNS: u32 = 16_384;

/// Cells kept from one sheet (header width × data rows): far above any recommendations
/// export (the portal caps its report at 13K rows of 27 columns), low enough that a hostile
/// workbook cannot exhaust memory.
const MAX_CELLS: u64 = 20_000_000;

/// A worksheet as text rows, each with its 1-based sheet row number.
type SheetRows = Vec<(u64, Vec<String>)>;

/// The one worksheet holding recommendations, as text cells. Cells are streamed with
/// calamine's cell reader and kept sparsely: `worksheet_range` would allocate the whole
/// rectangle a hostile file claims (A1:XFD1048576 is 17 billion cells). Excel turns the
/// export's ISO timestamps into date serials without a zone; they were UTC in the CSV, so
/// they are written back as UTC.
fn read_workbook<RS: std::io::Read + std::io::Seek>(
    path: &Path,
    opened: std::result::Result<Xlsx<RS>, calamine::XlsxError>,
) -> Result<(String, SheetRows)> {
    let unreadable = |e: &dyn std::fmt::Display, at: Option<&str>| -> Error {
        let mut loc = Location::file(path);
        if let Some(sheet) = at {
            loc = loc.with_path(sheet.to_string());
        }
        InputError::new(WHAT, "unreadable workbook", loc)
            .found(&e.to_string())
            .expected("an .xlsx workbook")
            .into()
    };
    let mut wb = opened.map_err(|e| unreadable(&e, None))?;
    let names = wb.sheet_names().to_vec();
    let mut candidates = Vec::new();
    for name in &names {
        let mut cells: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
        let mut count = 0u64;
        let mut reader = wb.worksheet_cells_reader(name).map_err(|e| unreadable(&e, Some(name)))?;
        while let Some(cell) = reader.next_cell().map_err(|e| unreadable(&e, Some(name)))? {
            let (row, col) = cell.get_position();
            if col >= MAX_COLUMNS {
                return Err(InputError::new(
                    WHAT,
                    "cell beyond the last Excel column",
                    Location::file(path).with_path(format!("{name}!row {}", u64::from(row) + 1)),
                )
                .expected("cells within A:XFD")
                .into());
            }
            let text = dataref_text(cell.get_value());
            if !text.is_empty() {
                count += 1;
                cells.entry(row).or_default().insert(col, text);
            }
            if count > MAX_CELLS {
                return Err(
                    InputError::new(WHAT, "sheet too large", Location::file(path).with_path(name.clone()))
                        .expected(&format!("at most {MAX_CELLS} cells"))
                        .into(),
                );
            }
        }
        drop(reader);
        let Some(header) = cells.values().next() else { continue };
        let width = header.keys().next_back().map_or(0, |c| *c as usize + 1);
        if (width as u64).saturating_mul(cells.len() as u64) > MAX_CELLS {
            return Err(
                InputError::new(WHAT, "sheet too large", Location::file(path).with_path(name.clone()))
                    .expected(&format!("at most {MAX_CELLS} cells"))
                    .into(),
            );
        }
        let header_ok = header.values().any(|c| {
            let k = records::normalise_header(c).0;
            k == "recommendationname" || k == "recommendationdisplayname" || k == "recommendationid"
        });
        if !header_ok {
            continue;
        }
        let rows: SheetRows = cells
            .into_iter()
            .map(|(r, row)| {
                let mut dense = vec![String::new(); width];
                for (c, v) in row.into_iter().filter(|(c, _)| (*c as usize) < width) {
                    dense[c as usize] = v;
                }
                (u64::from(r) + 1, dense)
            })
            .collect();
        candidates.push((name.clone(), rows));
    }
    match candidates.len() {
        1 => Ok(candidates.remove(0)),
        0 => Err(InputError::new(WHAT, "no recommendations sheet", Location::file(path))
            .found(&names.join(", "))
            .expected("a sheet whose first row has recommendationName / recommendationDisplayName")
            .into()),
        _ => Err(InputError::new(WHAT, "several recommendations sheets", Location::file(path))
            .found(&candidates.iter().map(|c| c.0.clone()).collect::<Vec<_>>().join(", "))
            .expected("exactly one sheet of recommendations")
            .hint("save the sheet you mean as CSV and pass that file")
            .into()),
    }
}

fn dataref_text(d: &DataRef<'_>) -> String {
    match d {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(dt) => dt
            .as_datetime()
            .map(|n| n.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
            .unwrap_or_else(|| dt.as_f64().to_string()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#ERROR {e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assessment_keys_come_from_names_or_ids() {
        assert!(is_guid("3b363842-30f5-4056-980d-3a40fa5de8b3"));
        assert!(!is_guid("Storage accounts should prevent shared key access"));
        assert_eq!(
            key_from_id("/subscriptions/x/providers/Microsoft.Security/assessments/3B363842-30F5-4056-980D-3A40FA5DE8B3").as_deref(),
            Some("3b363842-30f5-4056-980d-3a40fa5de8b3")
        );
    }
}
