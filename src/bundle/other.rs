//! A file the analyst declared `kind = "other"`: listed and hashed in the evidence
//! inventory, its records counted, never read as evidence. It has no signatures, so a file is
//! this kind only when declared.

use super::source::{EvidenceSource, FieldList, FileIn, Intake, SourceKind};
use crate::error::Result;
use crate::input::table::{self, Visit};

/// Declared, not used.
pub struct Other;

/// The kind of [`Other`].
pub const KIND: SourceKind = SourceKind::of(&Other);

impl EvidenceSource for Other {
    fn key(&self) -> &'static str {
        "other"
    }
    fn describe(&self) -> &'static str {
        "other file (declared, not used)"
    }
    fn fields(&self) -> FieldList {
        FieldList::NotRead
    }
    fn load(&self, file: &FileIn, intake: &mut Intake) -> Result<()> {
        let info = table::read_table(file.path, "evidence file", &mut |_| Ok(Visit::Continue))?;
        intake.report.records = info.records;
        intake
            .report
            .warnings
            .push("declared kind = \"other\": listed and hashed, not read as evidence".to_string());
        Ok(())
    }
}
