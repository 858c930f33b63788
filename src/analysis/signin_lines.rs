//! The compromised identities' sign-ins as the reports list them: one line per sign-in, except
//! that a run of many like failed sign-ins (a password spray on the account) is one line with
//! its count, its first and its last sign-in. Every sign-in is counted in exactly one line; the
//! facts a run's line shows are the same in each of its sign-ins.

use serde::Serialize;

use super::timeline::{BULK_RUN, RUN_GAP_SECS};
use crate::bundle::signins::SignIn;
use crate::error::Location;
use crate::types::Timestamp;

/// One line of the sign-in list: a sign-in (`count` 1), or the first of a run of `count` like
/// failed sign-ins, with the time and record of the run's last one.
#[derive(Debug, Clone, Serialize)]
pub struct SignInLine {
    #[serde(flatten)]
    pub sign_in: SignIn,
    /// Sign-ins the line stands for (1 for a single sign-in).
    pub count: u64,
    /// The run's last sign-in; None for a single sign-in.
    pub last: Option<RunEnd>,
}

/// Where a run of like sign-ins ends.
#[derive(Debug, Clone, Serialize)]
pub struct RunEnd {
    pub at: Timestamp,
    pub origin: Location,
}

/// Whether `b` could be told in `a`'s line: both failed, and every fact the reports show of a
/// sign-in is the same (all but its time, its ids and its record).
fn alike(a: &SignIn, b: &SignIn) -> bool {
    !a.succeeded
        && !b.succeeded
        && a.upn == b.upn
        && a.principal == b.principal
        && a.display_name == b.display_name
        && a.ip == b.ip
        && a.country == b.country
        && a.city == b.city
        && a.app == b.app
        && a.resource == b.resource
        && a.result_code == b.result_code
        && a.failure_reason == b.failure_reason
        && a.conditional_access == b.conditional_access
        && a.policies == b.policies
        && a.auth_requirement == b.auth_requirement
        && a.mfa == b.mfa
        && a.mfa_method == b.mfa_method
        && a.device_compliant == b.device_compliant
        && a.device_managed == b.device_managed
        && a.risk_during == b.risk_during
        && a.risk_aggregated == b.risk_aggregated
        && a.risk_state == b.risk_state
        && a.risk_events == b.risk_events
        && a.user_agent == b.user_agent
}

/// `signins` (in time order) as lines: runs of at least [`BULK_RUN`] consecutive like failed
/// sign-ins, none more than [`RUN_GAP_SECS`] after the one before, are one line each.
pub fn signin_lines(signins: Vec<SignIn>) -> Vec<SignInLine> {
    let mut lines: Vec<SignInLine> = Vec::new();
    let mut i = 0;
    while i < signins.len() {
        let mut j = i + 1;
        while j < signins.len() && alike(&signins[i], &signins[j]) && (signins[j].at.0 - signins[j - 1].at.0).num_seconds() <= RUN_GAP_SECS
        {
            j += 1;
        }
        if j - i >= BULK_RUN {
            let last = &signins[j - 1];
            lines.push(SignInLine {
                sign_in: signins[i].clone(),
                count: (j - i) as u64,
                last: Some(RunEnd {
                    at: last.at,
                    origin: last.origin.clone(),
                }),
            });
        } else {
            lines.extend(signins[i..j].iter().map(|s| SignInLine {
                sign_in: s.clone(),
                count: 1,
                last: None,
            }));
        }
        i = j;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_in(secs: i64, ip: &str, succeeded: bool) -> SignIn {
        let at = chrono::DateTime::parse_from_rfc3339("2024-03-21T02:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc)
            + chrono::Duration::seconds(secs);
        let origin = Location::record(std::path::Path::new("signins.csv"), secs as u64 + 2, secs as u64 + 1);
        let mut s = SignIn::for_tests(Timestamp(at), "a@example.test", ip, succeeded, origin);
        s.correlation_id = Some(format!("c{secs}"));
        s.record_id = Some(format!("r{secs}"));
        s
    }

    #[test]
    fn a_run_of_like_failures_is_one_line_and_every_sign_in_is_counted_once() {
        let mut all: Vec<SignIn> = (0..25).map(|k| sign_in(k, "203.0.113.9", false)).collect();
        all.push(sign_in(30, "203.0.113.9", true));
        all.extend((31..36).map(|k| sign_in(k, "203.0.113.9", false)));
        let lines = signin_lines(all);
        let counts: Vec<u64> = lines.iter().map(|l| l.count).collect();
        assert_eq!(counts, [25, 1, 1, 1, 1, 1, 1], "a success and a short run stay one by one");
        let run = lines[0].last.as_ref().unwrap();
        assert_eq!(run.origin.line, Some(26), "the run ends at its last sign-in's record");
        assert_eq!(lines[0].sign_in.origin.line, Some(2));
        assert!(lines[1..].iter().all(|l| l.last.is_none()));
    }

    #[test]
    fn a_different_address_or_a_long_pause_ends_a_run() {
        let mut all: Vec<SignIn> = (0..20).map(|k| sign_in(k, "203.0.113.9", false)).collect();
        all.extend((20..40).map(|k| sign_in(k, "203.0.113.10", false)));
        all.extend((0..20).map(|k| sign_in(10_000 + k, "203.0.113.10", false)));
        let counts: Vec<u64> = signin_lines(all).iter().map(|l| l.count).collect();
        assert_eq!(counts, [20, 20, 20]);
    }
}
