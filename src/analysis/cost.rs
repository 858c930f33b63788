//! Attacker-caused cost: compute of VMs the attacker created (size × region rate × hours from
//! creation to deletion or to the report's as-of time), their public IPs, and internet egress
//! of the data taken. Every rate is an [`Assumption`] printed with the figure; case.toml may
//! override any of them. A figure that lacks an input is "not provided", never guessed.

use serde::Serialize;

use super::steps::{ArmOperation, Outcome, Step};
use crate::case::RateOverrides;
use crate::types::{trim_decimals, Bytes, Region, StepKind, Timestamp, Usd};

/// Where the shipped VM rates come from, and their date.
pub const RATE_CARD_SOURCE: &str =
    "Azure pay-as-you-go Linux list prices as of 2024-08-09 (unchanged over 2023-02-20 to 2024-08-09), from a public pricing snapshot";

/// Shipped VM rates, USD per hour, Linux pay-as-you-go (anchors-and-methods.md §4.1).
pub const VM_RATES: &[(&str, &str, f64)] = &[
    ("Standard_NC6s_v3", "brazilsouth", 6.120),
    ("Standard_NC6s_v3", "uksouth", 3.589),
    ("Standard_NC6s_v3", "eastus", 3.060),
    ("Standard_NC24ads_A100_v4", "brazilsouth", 7.346),
    ("Standard_NC24ads_A100_v4", "uksouth", 4.591),
    ("Standard_NC24ads_A100_v4", "eastus", 3.673),
    ("Standard_D4s_v5", "brazilsouth", 0.306),
    ("Standard_D4s_v5", "uksouth", 0.222),
    ("Standard_D4s_v5", "eastus", 0.192),
    ("Standard_F72s_v2", "brazilsouth", 4.716),
    ("Standard_F72s_v2", "uksouth", 3.636),
    ("Standard_F72s_v2", "eastus", 3.045),
    ("Standard_HB120rs_v3", "uksouth", 4.500),
    ("Standard_HB120rs_v3", "eastus", 3.600),
];

/// Standard static public IPv4 address, USD per hour. Azure's published list price for a
/// Standard SKU static address; not re-checked against the retail price API.
pub const PUBLIC_IP_USD_PER_HOUR: f64 = 0.005;

/// Internet egress allowance free each month, GB (several secondary sources agree).
pub const EGRESS_FREE_GB: f64 = 100.0;

/// Internet egress after the allowance, USD per GB: Microsoft global network routing, first
/// 10 TB, United States (Microsoft Tech Community, "Azure routing preference", 2025-09-05).
/// Other regions' rates were not checked; this rate is used for all regions and said so.
pub const EGRESS_USD_PER_GB: f64 = 0.087;

/// The range an unpriced VM would cost at its size's known rates in other regions.
#[derive(Debug, Clone, Serialize)]
pub struct Indicative {
    pub low_usd_per_hour: f64,
    pub high_usd_per_hour: f64,
    /// The regions those rates are for.
    pub regions: Vec<String>,
    pub low: Usd,
    pub high: Usd,
    /// "$211–$422 at $3.673–$7.346/h, the rates of this size in East US, UK South and Brazil South".
    pub text: String,
}

/// The same size's known rates, lowest and highest, over `hours`; None when the size has no
/// known rate anywhere.
fn indicative(size: &str, hours: f64, rates: &RateOverrides) -> Option<Indicative> {
    let known: Vec<(f64, String)> = rates
        .vm
        .iter()
        .filter(|r| r.size.eq_ignore_ascii_case(size))
        .map(|r| (r.usd_per_hour, r.region.display_name().to_string()))
        .chain(
            VM_RATES
                .iter()
                .filter(|(sz, _, _)| sz.eq_ignore_ascii_case(size))
                .map(|(_, rg, usd)| (*usd, Region::new(rg).display_name().to_string())),
        )
        .collect();
    let low = known.iter().map(|k| k.0).fold(f64::INFINITY, f64::min);
    let high = known.iter().map(|k| k.0).fold(f64::NEG_INFINITY, f64::max);
    if known.is_empty() {
        return None;
    }
    let mut regions: Vec<String> = known.into_iter().map(|k| k.1).collect();
    regions.dedup();
    let (lo, hi) = (Usd(low * hours), Usd(high * hours));
    Some(Indicative {
        text: format!(
            "about ${:.0}–${:.0} at ${low:.3}–${high:.3}/h, the rates of this size in {}; the exact rate comes from `casefile prices`",
            lo.0,
            hi.0,
            crate::types::join_words(&regions)
        ),
        low_usd_per_hour: low,
        high_usd_per_hour: high,
        regions,
        low: lo,
        high: hi,
    })
}

/// A stated assumption behind a figure.
#[derive(Debug, Clone, Serialize)]
pub struct Assumption {
    pub topic: String,
    pub text: String,
    pub source: String,
}

/// One attacker VM's compute cost.
#[derive(Debug, Clone, Serialize)]
pub struct VmCost {
    pub name: String,
    pub resource_group: Option<String>,
    pub size: Option<String>,
    pub region: Option<Region>,
    pub created: Timestamp,
    pub ended: Timestamp,
    /// "deleted" when the log shows deletion; "still running at as-of time" otherwise.
    pub end_basis: String,
    pub hours: f64,
    pub usd_per_hour: Option<f64>,
    pub rate_source: Option<String>,
    /// None when size, region or rate is unknown: the report says "not provided".
    pub cost: Option<Usd>,
    /// "$340.12", or "not provided" when the cost could not be priced.
    pub cost_display: String,
    pub arithmetic: Option<String>,
    /// For a VM without a rate for its region: what the same size costs in the regions that
    /// are priced, over the same hours. Never added to the totals.
    pub indicative: Option<Indicative>,
    /// True for GPU sizes: Azure's N-series (`Standard_N…`) are the GPU families.
    pub gpu: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct IpCost {
    pub name: String,
    pub cost_display: String,
    pub created: Timestamp,
    pub ended: Timestamp,
    pub end_basis: String,
    pub hours: f64,
    pub cost: Usd,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    /// Every figure is in US dollars (Azure's retail price currency).
    pub currency: &'static str,
    pub vms: Vec<VmCost>,
    pub public_ips: Vec<IpCost>,
    /// Sum of the priced VMs' costs; None when no VM could be priced or the activity log is
    /// missing. A lower bound when `unpriced` is not empty.
    pub compute: Option<Usd>,
    /// VMs without a rate ("Standard_X in region"), which make `compute` a lower bound.
    pub unpriced: Vec<String>,
    /// "$340.12", "at least $120.00 (1 of 3 VMs unpriced: …)", "no attacker VMs" or
    /// "not provided".
    pub compute_display: String,
    /// Hourly cost of attacker VMs still running at the as-of time (priced ones).
    pub running_usd_per_hour: Option<Usd>,
    /// True when `total` is a lower bound.
    pub total_is_lower_bound: bool,
    pub total_display: String,
    pub public_ip_total: Usd,
    pub egress_bytes: Option<Bytes>,
    pub egress: Option<Usd>,
    pub total: Option<Usd>,
    pub assumptions: Vec<Assumption>,
}

fn lifetime(
    created: Timestamp,
    resource: &crate::types::ResourceId,
    ops: &[ArmOperation],
    delete_op: &str,
    as_of: Timestamp,
) -> (Timestamp, String) {
    let deleted = ops
        .iter()
        .filter(|o| o.operation == delete_op && o.outcome == Outcome::Succeeded && o.start >= created)
        .find(|o| o.resource_id.as_ref().is_some_and(|r| r == resource || resource.is_within(r)));
    match deleted {
        Some(d) => (d.start, format!("deleted {}", d.start)),
        None => (as_of.max(created), "still present at the report's as-of time".into()),
    }
}

fn hours(a: Timestamp, b: Timestamp) -> f64 {
    a.seconds_until(b) as f64 / 3600.0
}

/// Estimates the attacker-caused cost.
/// `ops` is None when the Activity log was not provided: compute cost is then unknown, not 0.
pub fn estimate_cost(steps: &[Step], ops: Option<&[ArmOperation]>, egress: Option<Bytes>, rates: &RateOverrides, as_of: Timestamp) -> Cost {
    let activity_provided = ops.is_some();
    let ops = ops.unwrap_or(&[]);
    let mut assumptions = Vec::new();
    let mut vms = Vec::new();
    for s in steps
        .iter()
        .filter(|s| s.kind == StepKind::VmCreate && s.outcome == Outcome::Succeeded)
    {
        let Some(resource) = &s.resource else { continue };
        let (ended, end_basis) = lifetime(s.at, resource, ops, "microsoft.compute/virtualmachines/delete", as_of);
        let d = s.details.clone().unwrap_or_default();
        let h = hours(s.at, ended);
        let rate = match (&d.vm_size, &d.region) {
            (Some(size), Some(region)) => rates
                .vm
                .iter()
                .find(|r| r.size.eq_ignore_ascii_case(size) && &r.region == region)
                .map(|r| (r.usd_per_hour, format!("the case file: {}", r.source)))
                .or_else(|| {
                    VM_RATES
                        .iter()
                        .find(|(sz, rg, _)| sz.eq_ignore_ascii_case(size) && Region::new(rg) == *region)
                        .map(|(_, _, usd)| (*usd, RATE_CARD_SOURCE.to_string()))
                }),
            _ => None,
        };
        let cost = rate.as_ref().map(|(r, _)| Usd(r * h));
        let arithmetic = rate
            .as_ref()
            .map(|(r, _)| format!("{} h × ${r:.3}/h = ${:.2}", trim_decimals(h, 2), r * h));
        if let (Some((r, src)), Some(size), Some(region)) = (&rate, &d.vm_size, &d.region) {
            assumptions.push(Assumption {
                topic: "VM rate".into(),
                text: format!(
                    "{size} in {} costs ${r:.3} per hour (Linux, pay-as-you-go; Windows or Spot pricing would differ)",
                    region.display_name()
                ),
                source: src.clone(),
            });
        }
        let unpriced_at = if rate.is_none() {
            d.vm_size.as_deref().and_then(|size| indicative(size, h, rates))
        } else {
            None
        };
        vms.push(VmCost {
            cost_display: cost.map(|c| c.to_string()).unwrap_or_else(|| match (&d.vm_size, &d.region) {
                (Some(size), Some(region)) => format!("no rate for {size} in {}", region.display_name()),
                _ => "not priced: size or region not in the log".into(),
            }),
            gpu: d
                .vm_size
                .as_deref()
                .is_some_and(|s| s.to_ascii_lowercase().starts_with("standard_n")),
            name: resource.name().to_string(),
            resource_group: resource.segment_after("resourceGroups").map(str::to_lowercase),
            size: d.vm_size.clone(),
            region: d.region.clone(),
            created: s.at,
            ended,
            end_basis,
            hours: h,
            usd_per_hour: rate.as_ref().map(|r| r.0),
            rate_source: rate.map(|r| r.1),
            indicative: unpriced_at,
            cost,
            arithmetic,
        });
    }
    if !vms.is_empty() {
        assumptions.push(Assumption {
            topic: "VM running time".into(),
            text: "A VM is billed from its creation request to its deletion request (or to the as-of time if not deleted); stopped-deallocated periods are not visible in the Activity log and are counted as running".into(),
            source: "Activity log operations".into(),
        });
    }
    let ip_rate = rates.public_ip_usd_per_hour.unwrap_or(PUBLIC_IP_USD_PER_HOUR);
    let mut public_ips = Vec::new();
    for s in steps
        .iter()
        .filter(|s| s.kind == StepKind::PublicIpCreate && s.outcome == Outcome::Succeeded)
    {
        let Some(resource) = &s.resource else { continue };
        let (ended, end_basis) = lifetime(s.at, resource, ops, "microsoft.network/publicipaddresses/delete", as_of);
        let h = hours(s.at, ended);
        let cost = Usd(h * ip_rate);
        public_ips.push(IpCost {
            name: resource.name().to_string(),
            cost_display: cost.to_string(),
            created: s.at,
            ended,
            end_basis,
            hours: h,
            cost,
        });
    }
    if !public_ips.is_empty() {
        assumptions.push(Assumption {
            topic: "Public IP rate".into(),
            text: format!("A Standard static public IP costs ${ip_rate:.3} per hour"),
            source: if rates.public_ip_usd_per_hour.is_some() {
                "the case file".into()
            } else {
                "Azure list price for a Standard static public IPv4 address (not re-checked against the retail price API)".into()
            },
        });
    }
    let free = rates.egress_free_gb.unwrap_or(EGRESS_FREE_GB);
    let per_gb = rates.egress_usd_per_gb.unwrap_or(EGRESS_USD_PER_GB);
    let egress_cost = egress.map(|b| Usd((b.gb() - free).max(0.0) * per_gb));
    // No assumption about data the attacker did not read.
    if let Some(b) = egress.filter(|b| b.0 > 0) {
        assumptions.push(Assumption {
            topic: "Egress".into(),
            text: format!(
                "Data read by the attacker ({b}) left Azure over the internet; the first {} GB per month are free and no other egress used that allowance; beyond it ${per_gb:.3}/GB",
                trim_decimals(free, 2)
            ),
            source: if rates.egress_usd_per_gb.is_some() {
                "the case file".into()
            } else {
                "Microsoft Tech Community, Azure routing preference, list price as of 2025-09-05 (US rate, applied to every region)".into()
            },
        });
    }
    // Sums start from +0.0: an empty f64 sum is -0.0, which would print as "$-0.00".
    let unpriced: Vec<String> = vms
        .iter()
        .filter(|v| v.cost.is_none())
        .map(|v| {
            format!(
                "{} ({} in {}{})",
                v.name,
                v.size.as_deref().unwrap_or("size unknown"),
                v.region
                    .as_ref()
                    .map(|r| r.display_name().to_string())
                    .unwrap_or_else(|| "an unknown region".into()),
                v.indicative
                    .as_ref()
                    .map(|i| format!("; indicative about ${:.0}–${:.0}", i.low.0, i.high.0))
                    .unwrap_or_default()
                    + if v.end_basis.starts_with("deleted") {
                        ""
                    } else {
                        "; not shown deleted by the as-of time, so it may still be costing"
                    }
            )
        })
        .collect();
    for v in &vms {
        if let Some(i) = &v.indicative {
            assumptions.push(Assumption {
                topic: "Indicative VM rate".into(),
                text: format!(
                    "{} has no rate for its size in its region: at this size's rates in {} (${:.3}–${:.3}/h) its {} h would cost about ${:.0}–${:.0}; shown beside it, not in any total, which stays a lower bound; the exact rate comes from `casefile prices`",
                    v.name,
                    crate::types::join_words(&i.regions),
                    i.low_usd_per_hour,
                    i.high_usd_per_hour,
                    trim_decimals(v.hours, 2),
                    i.low.0,
                    i.high.0
                ),
                source: RATE_CARD_SOURCE.to_string(),
            });
        }
    }
    let priced = vms.iter().filter(|v| v.cost.is_some()).count();
    let compute =
        (activity_provided && (priced > 0 || vms.is_empty())).then(|| Usd(vms.iter().filter_map(|v| v.cost).fold(0.0, |a, c| a + c.0)));
    let compute_display = match compute {
        None if !activity_provided => "not provided".to_string(),
        None => format!(
            "not priced: {} without a rate ({})",
            crate::types::counted(vms.len() as u64, "VM", "VMs"),
            unpriced.join(", ")
        ),
        Some(_) if vms.is_empty() => "no attacker VMs".to_string(),
        // Whole dollars: the key figure is an estimate; the arithmetic keeps the cents.
        Some(c) if unpriced.is_empty() => format!("${:.0}", c.0),
        Some(c) => format!(
            "at least {c} ({} of {} VMs unpriced, no rate for {} size and region: {})",
            unpriced.len(),
            vms.len(),
            if unpriced.len() == 1 { "its" } else { "their" },
            unpriced.join(", ")
        ),
    };
    let running: Vec<&VmCost> = vms.iter().filter(|v| !v.end_basis.starts_with("deleted")).collect();
    // Only when every running VM is priced: an unpriced one would make the sum too low.
    let running_usd_per_hour = (!running.is_empty() && running.iter().all(|v| v.usd_per_hour.is_some()))
        .then(|| Usd(running.iter().filter_map(|v| v.usd_per_hour).fold(0.0, |a, r| a + r)));
    let public_ip_total = Usd(public_ips.iter().fold(0.0, |a, p| a + p.cost.0));
    // Without the Activity log the attacker's compute is unknown, so the total is too.
    let total = compute.map(|c| Usd(c.0 + public_ip_total.0 + egress_cost.map_or(0.0, |e| e.0)));
    let total_is_lower_bound = !unpriced.is_empty() || egress_cost.is_none();
    // The total names the unpriced VMs only: their sizes, regions and indicative ranges are
    // told once, with the compute figure.
    let unpriced_names: Vec<&str> = vms.iter().filter(|v| v.cost.is_none()).map(|v| v.name.as_str()).collect();
    let vm_words = if unpriced_names.len() == 1 { "unpriced VM" } else { "unpriced VMs" };
    let total_display = match total {
        None => compute_display.clone(),
        Some(t) if total_is_lower_bound => format!(
            "at least {t}{}",
            match (unpriced.is_empty(), egress_cost.is_none()) {
                (false, true) => format!(
                    " (not included: egress, and {vm_words} {})",
                    crate::types::join_words(&unpriced_names)
                ),
                (false, false) => format!(" (not included: {vm_words} {})", crate::types::join_words(&unpriced_names)),
                _ => " (egress not included: storage logs not provided)".to_string(),
            }
        ),
        Some(t) => t.to_string(),
    };
    Cost {
        currency: "USD",
        unpriced,
        compute_display,
        running_usd_per_hour,
        total_is_lower_bound,
        total_display,
        vms,
        public_ips,
        compute,
        public_ip_total,
        egress_bytes: egress,
        egress: egress_cost,
        total,
        assumptions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_vm_rate_times_lifetime_gives_about_340_dollars() {
        // 46 h 18 min of Standard_NC24ads_A100_v4 in Brazil South.
        let rate = VM_RATES
            .iter()
            .find(|(s, r, _)| *s == "Standard_NC24ads_A100_v4" && *r == "brazilsouth")
            .map(|r| r.2)
            .unwrap();
        let cost = rate * 46.3;
        assert!((cost - 340.12).abs() < 0.01, "{cost}");
    }

    #[test]
    fn an_unpriced_region_gets_the_sizes_range_elsewhere() {
        let none = RateOverrides::default();
        let i = indicative("standard_nc24ads_a100_v4", 10.0, &none).unwrap();
        assert_eq!((i.low_usd_per_hour, i.high_usd_per_hour), (3.673, 7.346));
        assert!((i.low.0 - 36.73).abs() < 1e-9 && (i.high.0 - 73.46).abs() < 1e-9);
        assert_eq!(i.regions.len(), 3);
        assert!(
            indicative("Standard_Unknown_v9", 10.0, &none).is_none(),
            "no guess for an unknown size"
        );
    }
}
