//! Command-line arguments (clap derive). Only structs; `lib.rs` turns them into work.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Turns an Azure incident case bundle into a timeline, control gaps, exposure, cost, a GDPR
/// assessment and reports.
#[derive(Debug, Parser)]
#[command(name = "casefile", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The documented report model as JSON.
    Json,
    /// A readable summary.
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportKind {
    All,
    Executive,
    Technical,
    Gdpr,
    Posture,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PdfStandard {
    /// PDF/A-2b, archival (default).
    A2b,
    /// PDF/A-3b with model.json attached.
    A3b,
    /// PDF/UA-1 (accessible) together with PDF/A-2b.
    Ua1,
}

/// `casefile timeline` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// JSON Lines with Timesketch's `message`, `datetime` and `timestamp_desc`.
    Timesketch,
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// The case bundle: a directory holding case.toml and the evidence it lists.
    pub bundle: PathBuf,
    /// A Defender for Cloud recommendations export (.csv, .xlsx or .json); overrides case.toml.
    #[arg(long)]
    pub recommendations: Option<PathBuf>,
    /// Use this control catalog directory instead of the built-in one.
    #[arg(long)]
    pub controls: Option<PathBuf>,
    #[command(flatten)]
    pub ingest: IngestArgs,
}

/// How evidence is read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct IngestArgs {
    /// No progress bar (it is shown only on a terminal, for inputs over 100 MB).
    #[arg(long, short)]
    pub quiet: bool,
    /// Threads casefile works on (default: one per core): storage logs are parsed on N,
    /// at most two reports are typeset at once. Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// The largest record accepted, in bytes (default 64 MiB); a longer one is an input error.
    #[arg(long)]
    pub max_record_bytes: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse a case bundle and print the result.
    Analyze {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Check that every input can be read, and say what each file is.
    Validate {
        #[command(flatten)]
        common: Common,
    },
    /// Render PDF reports and model.json into a directory.
    Report {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_enum, default_value = "all")]
        kind: ReportKind,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Use these templates instead of the built-in ones (see README, "Templates").
        #[arg(long)]
        templates: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "a2b")]
        pdf_standard: PdfStandard,
    },
    /// Export the cross-product timeline (stdout, or --out FILE).
    Timeline {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_enum, default_value = "csv")]
        format: TimelineFormat,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write Sentinel analytics rules (DIR/sentinel) and Sigma rules (DIR/sigma) for this case.
    Rules {
        #[command(flatten)]
        common: Common,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write Log Analytics collection and aggregation queries scoped to this case.
    Queries {
        #[command(flatten)]
        common: Common,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Hours added before and after the incident window.
        #[arg(long, default_value_t = 24)]
        margin_hours: u32,
    },
    /// Print the Azure Retail Prices API URLs for the case's attacker VMs.
    Prices {
        #[command(flatten)]
        common: Common,
    },
    /// Scan a folder of exports and write a case.toml listing them (never overwrites one).
    Init {
        /// The folder holding the exports; case.toml is written there.
        dir: PathBuf,
    },
}

impl Command {
    /// The threads asked for with `--threads` (0: one per core; `init` reads no evidence).
    pub fn threads(&self) -> usize {
        match self {
            Command::Analyze { common, .. }
            | Command::Validate { common }
            | Command::Report { common, .. }
            | Command::Timeline { common, .. }
            | Command::Rules { common, .. }
            | Command::Queries { common, .. }
            | Command::Prices { common } => common.ingest.threads.unwrap_or(0),
            Command::Init { .. } => 0,
        }
    }
}
