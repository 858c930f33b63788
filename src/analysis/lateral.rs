//! Lateral movement through the management plane: one identity touching three or more
//! resource types within thirty minutes (seed: "single identity accessing multiple resource
//! types in a short window"). Reads grouped Activity operations only.

use std::collections::BTreeMap;

use serde::Serialize;

use super::steps::{ArmOperation, Outcome};
use crate::error::Location;
use crate::types::{Timestamp, Upn};

/// Window length (seed: "within 30 minutes").
pub const WINDOW_SECONDS: i64 = 1800;
/// Distinct resource types that make a window a finding (seed: "3+").
pub const MIN_TYPES: usize = 3;

#[derive(Debug, Clone, Serialize)]
pub struct LateralFinding {
    pub caller: Upn,
    /// Resource types in order of first use (`roleAssignments`, `virtualMachines` …).
    pub resource_types: Vec<String>,
    pub operations: u64,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The earliest moment any window of this caller reached [`MIN_TYPES`] types: when a
    /// rule looking for the pattern could first have matched.
    pub threshold_at: Timestamp,
    pub minutes: i64,
    pub in_scope: bool,
    pub evidence: Vec<Location>,
}

/// For each caller, the window with the most resource types (then the most operations) among
/// its successful changes; reported when it reaches [`MIN_TYPES`].
pub fn find_lateral(ops: &[ArmOperation], in_scope: &dyn Fn(&Upn) -> bool) -> Vec<LateralFinding> {
    let mut by_caller: BTreeMap<&Upn, Vec<&ArmOperation>> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.outcome == Outcome::Succeeded && o.is_change()) {
        if let Some(c) = &op.caller {
            by_caller.entry(c).or_default().push(op);
        }
    }
    let mut out = Vec::new();
    for (caller, mut list) in by_caller {
        list.sort_by_key(|o| o.start);
        let mut best: Option<(usize, usize, usize)> = None; // (types, ops, start index)
        let mut threshold_at: Option<Timestamp> = None;
        for i in 0..list.len() {
            let window: Vec<&&ArmOperation> = list[i..]
                .iter()
                .take_while(|o| list[i].start.seconds_until(o.start) <= WINDOW_SECONDS)
                .collect();
            let mut types: Vec<String> = Vec::new();
            for o in &window {
                let t = o.resource_type();
                if !types.contains(&t) {
                    types.push(t);
                    if types.len() == MIN_TYPES {
                        threshold_at = Some(threshold_at.map_or(o.start, |t| t.min(o.start)));
                    }
                }
            }
            let cand = (types.len(), window.len(), i);
            if best.is_none_or(|b| (cand.0, cand.1) > (b.0, b.1)) {
                best = Some(cand);
            }
        }
        if let Some((n_types, n_ops, i)) = best {
            if n_types >= MIN_TYPES {
                let window = &list[i..i + n_ops];
                let mut types: Vec<String> = Vec::new();
                for o in window {
                    let t = o.resource_type();
                    if !types.contains(&t) {
                        types.push(t);
                    }
                }
                let start = window[0].start;
                let end = window[n_ops - 1].start;
                out.push(LateralFinding {
                    caller: caller.clone(),
                    resource_types: types,
                    operations: n_ops as u64,
                    start,
                    end,
                    threshold_at: threshold_at.unwrap_or(end),
                    minutes: start.seconds_until(end) / 60,
                    in_scope: in_scope(caller),
                    evidence: window.iter().map(|o| o.events[0].clone()).collect(),
                });
            }
        }
    }
    out.sort_by_key(|f| f.start);
    out
}
