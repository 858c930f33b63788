//! `casefile prices`: the Azure Retail Prices API URLs that price the case's attacker VMs, so
//! a user with network access can fetch the exact pages casefile needs (it never fetches).
//! One URL per distinct VM size and region, filtered to consumption prices. With the pages
//! saved and named in case.toml (`[rates] retail_prices`), [`apply_retail_prices`] turns them
//! into `[[rates.vm]]` entries that the cost estimate already consults, citing file and date.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

use crate::analysis::steps::Phase;
use crate::case::{Case, VmRateOverride};
use crate::error::{Error, InputError, Location, Result};
use crate::types::{Region, Timestamp};
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
        "# Fetch each URL (and every NextPageLink it returns), save the JSON pages, and name them in\n# case.toml: [rates] retail_prices = \"FILE\" (one page, or several pages as a JSON array).\n",
    );
    for (size, region) in vms {
        out.push_str(&format!("# {size} in {region}\n{}\n", url(&size, &region)));
    }
    out
}

/// One item of a Retail Prices API page (fields casefile uses; the rest are ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceItem {
    currency_code: Option<String>,
    retail_price: Option<f64>,
    arm_region_name: Option<String>,
    arm_sku_name: Option<String>,
    effective_start_date: Option<String>,
    product_name: Option<String>,
    sku_name: Option<String>,
    unit_of_measure: Option<String>,
    #[serde(rename = "type")]
    price_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PricePage {
    #[serde(rename = "Items")]
    items: Vec<serde_json::Value>,
}

/// A file holds one page (`{"Items": [...], "NextPageLink": ...}`) or an array of pages.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PriceFile {
    One(PricePage),
    Many(Vec<PricePage>),
}

/// A pay-as-you-go Linux hourly price the file gives for one size and region.
#[derive(Debug, Clone)]
struct Candidate {
    usd_per_hour: f64,
    effective: Timestamp,
    path: String,
}

fn bad(file: &Path, path: &str, field: &str, found: &str, expected: &str) -> Error {
    let mut loc = Location::file(file).with_field(field);
    loc.path = Some(path.to_string());
    Error::from(
        InputError::new("retail prices file", "invalid price item", loc)
            .found(found)
            .expected(expected),
    )
}

/// A price keyed by (lower-case size, region).
type Priced = ((String, Region), Candidate);

/// Reads the pages and returns every consumption Linux hourly price, keyed by (size, region),
/// and how many items the pages hold.
fn read_prices(file: &Path) -> Result<(Vec<Priced>, u64)> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Error::from(
            InputError::new("retail prices file", "cannot read file", Location::file(file))
                .found(&e.to_string())
                .expected("saved Azure Retail Prices API JSON"),
        )
    })?;
    let pages = match serde_json::from_str::<PriceFile>(text.trim_start_matches('\u{feff}')) {
        Ok(PriceFile::One(p)) => vec![p],
        Ok(PriceFile::Many(v)) => v,
        Err(e) => {
            let mut loc = Location::file(file);
            loc.line = Some(e.line() as u64);
            return Err(Error::from(
                InputError::new("retail prices file", "not a Retail Prices API response", loc)
                    .found(&e.to_string())
                    .expected("{\"Items\": [...], \"NextPageLink\": ...} or an array of such pages"),
            ));
        }
    };
    let mut out = Vec::new();
    let items = pages.iter().map(|p| p.items.len() as u64).sum();
    for (p, page) in pages.iter().enumerate() {
        for (i, raw) in page.items.iter().enumerate() {
            let path = format!("[{p}].Items[{i}]");
            let item: PriceItem =
                serde_json::from_value(raw.clone()).map_err(|e| bad(file, &path, "Items", &e.to_string(), "a Retail Prices API item"))?;
            if let Some(c) = candidate(file, &path, &item)? {
                out.push(c);
            }
        }
    }
    Ok((out, items))
}

/// The item as an hourly Linux pay-as-you-go VM price, or None when it is another kind of
/// price (Spot, Low Priority, Windows, reservation, DevTest, another unit).
fn candidate(file: &Path, path: &str, item: &PriceItem) -> Result<Option<Priced>> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let sku_name = text(&item.sku_name);
    let is_vm_hour = item.price_type.as_deref() == Some("Consumption")
        && item.unit_of_measure.as_deref() == Some("1 Hour")
        && !sku_name.contains("Spot")
        && !sku_name.contains("Low Priority")
        && !text(&item.product_name).ends_with("Windows");
    let (Some(size), Some(region)) = (&item.arm_sku_name, &item.arm_region_name) else {
        return Ok(None);
    };
    if !is_vm_hour {
        return Ok(None);
    }
    if let Some(c) = item.currency_code.as_deref().filter(|c| *c != "USD") {
        return Err(bad(file, path, "currencyCode", c, "USD (fetch the pages without currencyCode)"));
    }
    let price = item
        .retail_price
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| bad(file, path, "retailPrice", &format!("{:?}", item.retail_price), "a price ≥ 0"))?;
    let date = text(&item.effective_start_date);
    let effective = chrono::DateTime::parse_from_rfc3339(&date)
        .map(|d| Timestamp(d.to_utc()))
        .map_err(|_| bad(file, path, "effectiveStartDate", &date, "an RFC 3339 date"))?;
    Ok(Some((
        (size.to_ascii_lowercase(), Region::new(region)),
        Candidate {
            usd_per_hour: price,
            effective,
            path: path.to_string(),
        },
    )))
}

/// The saved prices file as the evidence inventory lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PricesFile {
    /// Relative to the bundle.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// Price items in all pages.
    pub items: u64,
    /// VM size and region pairs it priced (explicit `[[rates.vm]]` entries win).
    pub priced: usize,
    /// Earliest and latest `effectiveStartDate` of the prices used.
    pub effective_from: Option<Timestamp>,
    pub effective_to: Option<Timestamp>,
}

/// Adds a `[[rates.vm]]` entry for every size and region the saved pages price, after the
/// explicit entries (which win). Of several prices the one in force at the case's as-of time
/// is taken (else the earliest). The evidence does not show a VM's OS, so the price is
/// Linux's, the lower: the source says so. Returns the file with its hash, for the evidence
/// inventory.
///
/// # Errors
/// An input error naming the saved Retail Prices page that cannot be read.
pub fn apply_retail_prices(case: &mut Case) -> Result<Option<PricesFile>> {
    let Some((file, _)) = case.rates.retail_prices.clone() else {
        return Ok(None);
    };
    let (sha256, bytes) = crate::input::hash::hash_file(&file, "retail prices file")?;
    let (candidates, items) = read_prices(&file)?;
    let mut best: BTreeMap<(String, Region), Candidate> = BTreeMap::new();
    for (key, c) in candidates {
        let better = match best.get(&key) {
            None => true,
            Some(b) => {
                let in_force = |x: &Candidate| x.effective <= case.as_of;
                match (in_force(&c), in_force(b)) {
                    (true, true) => c.effective > b.effective,
                    (true, false) => true,
                    (false, true) => false,
                    (false, false) => c.effective < b.effective,
                }
            }
        };
        if better {
            best.insert(key, c);
        }
    }
    let shown = file.strip_prefix(&case.dir).unwrap_or(&file).display().to_string();
    let mut listed = PricesFile {
        path: shown.clone(),
        sha256,
        bytes,
        items,
        priced: 0,
        effective_from: None,
        effective_to: None,
    };
    for ((size, region), c) in best {
        let explicit = case
            .rates
            .vm
            .iter()
            .any(|r| r.size.eq_ignore_ascii_case(&size) && r.region == region);
        if explicit {
            continue;
        }
        listed.priced += 1;
        listed.effective_from = Some(listed.effective_from.map_or(c.effective, |t| t.min(c.effective)));
        listed.effective_to = Some(listed.effective_to.map_or(c.effective, |t| t.max(c.effective)));
        case.rates.vm.push(VmRateOverride {
            size,
            region,
            usd_per_hour: c.usd_per_hour,
            source: format!(
                "Azure Retail Prices API, {shown} {}, effectiveStartDate {} (Linux pay-as-you-go; the evidence does not show the OS)",
                c.path,
                c.effective.0.format("%Y-%m-%d")
            ),
        });
    }
    Ok(Some(listed))
}
