//! Defender for Cloud recommendations found among the evidence, as a source: recognised
//! here, read by `posture::recommendations` (the export states the posture, it is not
//! evidence of what happened). A continuous-export file that also holds alerts is split by
//! `mixed`.

use std::path::Path;

use super::source::{need, EvidenceSource, FieldList, FileIn, Intake, Signature, SourceKind};
use crate::error::Result;
use crate::input::table::{self, Visit};
use crate::types::Span;

/// How a file of this source is recognised, most specific shape first.
const SIGNATURES: &[Signature] = &[
    Signature {
        shape: "Defender for Cloud recommendations (portal CSV, SecurityRecommendation)",
        needs: &[need(
            &["recommendationname", "recommendationdisplayname", "recommendationstate"],
            "recommendation name or state",
        )],
    },
    Signature {
        shape: "Defender for Cloud assessments (REST, Resource Graph, continuous export)",
        needs: &[
            need(&["properties.status.code", "status.code"], "properties.status.code"),
            need(
                &[
                    "properties.displayname",
                    "properties.resourcedetails.id",
                    "displayname",
                    "resourcedetails.id",
                ],
                "properties.displayName or properties.resourceDetails.id",
            ),
        ],
    },
];

/// The recommendations export as a source.
pub struct Recommendations;

/// The kind of [`Recommendations`].
pub const KIND: SourceKind = SourceKind::of(&Recommendations);

impl EvidenceSource for Recommendations {
    fn key(&self) -> &'static str {
        "recommendations"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["securityrecommendation"]
    }
    fn describe(&self) -> &'static str {
        "recommendations export"
    }
    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }
    fn precedence(&self) -> u8 {
        10
    }
    fn fields(&self) -> FieldList {
        FieldList::NotRead
    }
    fn load(&self, file: &FileIn, intake: &mut Intake) -> Result<()> {
        if !super::mixed::load_if_mixed(file, intake)? {
            intake.bundle().recommendation_files.push(file.path.to_path_buf());
        }
        Ok(())
    }
    fn survey(&self, path: &Path) -> Result<(u64, Span)> {
        let info = table::read_table(path, "export", &mut |_| Ok(Visit::Continue))?;
        Ok((info.records, Span::default()))
    }
}
