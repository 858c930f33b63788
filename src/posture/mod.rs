//! Posture inputs: the Defender for Cloud recommendations export and the control catalog.
//! Neither reads evidence; `analysis::gaps` joins them with what the evidence proves.

pub mod catalog;
pub mod recommendations;
