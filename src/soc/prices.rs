//! `casefile prices`: the Azure Retail Prices API URLs that price the case's attacker VMs, so
//! a user with network access can fetch the exact pages casefile needs (it never fetches).
//! One URL per distinct VM size and region, filtered to consumption prices.

use std::collections::BTreeSet;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::analysis::steps::Phase;
use crate::CaseRun;

/// The public, unauthenticated API (https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices).
pub const API: &str = "https://prices.azure.com/api/retail/prices";

/// Characters kept as they are in a query value (RFC 3986 unreserved).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The distinct (size, region) pairs of VMs the attacker created.
pub fn vm_sizes(run: &CaseRun) -> Vec<(String, String)> {
    let set: BTreeSet<(String, String)> = run
        .analysis
        .steps
        .iter()
        .filter(|s| s.phase == Phase::Arm)
        .filter_map(|s| {
            let d = s.details.as_ref()?;
            Some((d.vm_size.clone()?, d.region.as_ref()?.as_str().to_string()))
        })
        .collect();
    set.into_iter().collect()
}

/// The `$filter` for one size and region: consumption (pay-as-you-go) prices of that SKU.
pub fn filter(size: &str, region: &str) -> String {
    let quote = |s: &str| s.replace('\'', "''");
    format!(
        "serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and armRegionName eq '{}' and armSkuName eq '{}'",
        quote(region),
        quote(size)
    )
}

/// The full URL for one size and region.
pub fn url(size: &str, region: &str) -> String {
    format!("{API}?$filter={}", utf8_percent_encode(&filter(size, region), QUERY_VALUE))
}

/// What `casefile prices` prints.
pub fn render(run: &CaseRun) -> String {
    let vms = vm_sizes(run);
    if vms.is_empty() {
        return "No attacker VM with a known size and region in the evidence: nothing to price.\n".into();
    }
    let mut out = String::from(
        "# Fetch each URL (and every NextPageLink it returns), save the JSON pages, and name them in\n# case.toml: [rates] retail_prices = \"FILE\" (several pages: one file per page, or a JSON array of pages).\n",
    );
    for (size, region) in vms {
        out.push_str(&format!("# {size} in {region}\n{}\n", url(&size, &region)));
    }
    out
}
