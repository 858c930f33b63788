//! Storage data exposure, computed while storage logs stream past: per account and container,
//! the attacker's successful reads, bytes (206 ranged reads count, failures do not), distinct
//! objects, listings and failures; the request bursts that become timeline steps; and the
//! benign requests left out, with reasons. Memory is bounded by what the attacker touched,
//! not by the size of the log. Data categories and subjects come from the case's inventory.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use super::scope::{is_internal, own_address, Scope};
use super::steps::{outcome_phrase, Outcome, Phase, Step};
use crate::bundle::storage::{AuthType, BlobRequest};
use crate::bundle::storage_summary::SummaryRow;
use crate::case::{DataAsset, Environment};
use crate::error::Location;
use crate::types::{Bytes, StepKind, Timestamp, Upn};

/// Requests of one kind further apart than this start a new burst (timeline step). Five
/// minutes keeps a download session together and separates the seed's 03:24 and 03:38 reads,
/// which also differ by container.
pub const BURST_GAP_SECONDS: i64 = 300;

/// The window after a key listing in which account-key access counts as its use (seed:
/// "within 30 minutes").
pub const KEY_USE_WINDOW_SECONDS: i64 = 1800;

/// Distinct exclusion reasons kept; the rest are counted under one "other" line so memory
/// stays bounded on huge logs.
const MAX_EXCLUSION_REASONS: usize = 50;

/// How many example records an aggregate keeps as evidence.
const EVIDENCE_SAMPLES: usize = 3;

/// Storage requests as the analysis reads them, whichever shape the evidence had: one raw
/// request (`bundle::storage`), or one row of a summary export (`bundle::storage_summary`):
/// the requests of one day that share everything below except their times and objects.
///
/// Text is borrowed from a raw request's record while it is aggregated; what the findings
/// keep is copied.
#[derive(Debug, Clone)]
pub struct RequestGroup<'a> {
    pub account: Cow<'a, str>,
    pub container: Option<Cow<'a, str>>,
    pub operation: Cow<'a, str>,
    pub status_code: u16,
    pub auth: AuthType,
    pub auth_hash: Option<Cow<'a, str>>,
    pub caller_ip: Option<IpAddr>,
    pub requester_upn: Option<Upn>,
    pub requester_app: Option<Cow<'a, str>>,
    /// First and last request (equal for one request).
    pub first: Timestamp,
    pub last: Timestamp,
    pub requests: u64,
    /// Response body bytes, summed.
    pub bytes: Bytes,
    pub objects: Objects<'a>,
    /// The request id of one raw request, for de-duplicating overlapping exports.
    pub request_id: Option<Cow<'a, str>>,
    pub origin: Location,
}

/// The objects a [`RequestGroup`] touched.
#[derive(Debug, Clone)]
pub enum Objects<'a> {
    /// One request's blob (None for a request on a container or the account).
    One(Option<Cow<'a, str>>),
    /// A summary row's blobs: `names` lists them all when `complete`; `distinct` is their
    /// exact number either way.
    Set { names: Vec<String>, distinct: u64, complete: bool },
}

impl<'a> From<BlobRequest<'a>> for RequestGroup<'a> {
    fn from(r: BlobRequest<'a>) -> Self {
        RequestGroup {
            account: r.account,
            container: r.container,
            operation: r.operation,
            status_code: r.status_code,
            auth: r.auth,
            auth_hash: r.auth_hash,
            caller_ip: r.caller_ip,
            requester_upn: r.requester_upn,
            requester_app: r.requester_app,
            first: r.at,
            last: r.at,
            requests: 1,
            bytes: r.response_bytes,
            objects: Objects::One(r.blob),
            request_id: r.request_id,
            origin: r.origin,
        }
    }
}

impl From<SummaryRow> for RequestGroup<'static> {
    fn from(r: SummaryRow) -> Self {
        let complete = r.objects_complete();
        RequestGroup {
            account: Cow::Owned(r.account),
            container: r.container.map(Cow::Owned),
            operation: Cow::Owned(r.operation),
            status_code: r.status_code,
            auth: r.auth,
            auth_hash: r.signing_key.map(Cow::Owned),
            caller_ip: r.caller_ip,
            requester_upn: r.requester_upn,
            requester_app: r.requester_app.map(Cow::Owned),
            first: r.first,
            last: r.last,
            requests: r.requests,
            bytes: r.bytes,
            objects: Objects::Set {
                names: r.objects,
                distinct: r.distinct_objects,
                complete,
            },
            request_id: None,
            origin: r.origin,
        }
    }
}

impl RequestGroup<'_> {
    /// 2xx responses, including 206 Partial Content for ranged reads.
    pub fn succeeded(&self) -> bool {
        crate::bundle::storage::status_succeeded(self.status_code)
    }
    /// Operations that return blob content.
    pub fn is_data_read(&self) -> bool {
        crate::bundle::storage::is_data_read_operation(&self.operation)
    }
    /// Operations that enumerate.
    pub fn is_listing(&self) -> bool {
        crate::bundle::storage::is_listing_operation(&self.operation)
    }
    fn uses_account_key(&self) -> bool {
        self.auth.uses_account_key(self.auth_hash.as_deref())
    }
}

/// Whether a group's requests are the attacker's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attribution {
    Attacker,
    Other,
    /// A summary row of a compromised identity that spans the start of its compromise
    /// window: some of its requests may be the attacker's, how many cannot be told.
    Straddles,
}

/// A storage key listing from the Activity log, for the listing → key-use detection.
#[derive(Debug, Clone)]
pub struct KeyListing {
    pub account: String,
    pub at: Timestamp,
    pub caller: Option<String>,
    pub ip: Option<IpAddr>,
    pub evidence: Location,
}

/// Attacker activity in one container.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContainerTally {
    pub account: String,
    pub container: String,
    pub read_requests: u64,
    pub bytes: Bytes,
    #[serde(skip)]
    pub objects: BTreeSet<String>,
    pub distinct_objects: u64,
    /// True when `distinct_objects` is a lower bound: a summary row listed only part of its
    /// objects and other rows or requests added objects of the same container.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub distinct_objects_at_least: bool,
    /// The largest exact distinct-object count of one summary row (a floor for the union).
    #[serde(skip)]
    pub objects_floor: u64,
    /// Summary rows whose object list was capped, and groups that added objects.
    #[serde(skip)]
    pub capped_rows: u64,
    #[serde(skip)]
    pub object_sources: u64,
    /// Requests of summary rows that span the start of a compromise window: counted neither
    /// as the attacker's nor as benign, so the figures above are lower bounds.
    #[serde(skip_serializing_if = "is_zero")]
    pub uncertain_requests: u64,
    pub listing_requests: u64,
    pub failed_requests: u64,
    pub write_requests: u64,
    pub delete_requests: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    pub evidence: Vec<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct BurstKey {
    account: String,
    operation: String,
    /// Reads are split per container; listings span containers (the seed lists 12 ListBlobs
    /// over three containers as one row).
    container: Option<String>,
    succeeded: bool,
}

#[derive(Debug, Clone)]
struct Burst {
    key: BurstKey,
    start: Timestamp,
    end: Timestamp,
    count: u64,
    bytes: Bytes,
    containers: BTreeSet<String>,
    ips: BTreeSet<IpAddr>,
    auth: BTreeSet<String>,
    status_codes: BTreeSet<u16>,
    evidence: Vec<Location>,
}

/// Benign requests grouped by reason.
#[derive(Debug, Clone, Serialize)]
pub struct ExcludedGroup {
    pub reason: String,
    pub requests: u64,
    pub first: Timestamp,
    pub last: Timestamp,
    pub example: Location,
}

/// A hit of the listing → new-address key-use detection.
#[derive(Debug, Clone, Serialize)]
pub struct KeyUseHit {
    pub account: String,
    pub listed_at: Timestamp,
    pub listed_by: Option<String>,
    pub ip: IpAddr,
    pub first_use: Timestamp,
    pub requests: u64,
    /// True when `requests` is a lower bound (a summary row ran past the window's end).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub requests_at_least: bool,
    pub evidence: Vec<Location>,
}

/// Everything learned from the storage logs.
#[derive(Debug, Clone, Serialize)]
pub struct StorageFindings {
    pub requests: u64,
    /// Attacker requests dropped as duplicates of ones already counted.
    pub duplicates: u64,
    pub attacker_requests: u64,
    pub containers: Vec<ContainerTally>,
    pub steps: Vec<Step>,
    pub excluded: Vec<ExcludedGroup>,
    pub key_use_hits: Vec<KeyUseHit>,
    /// Evidence of a successful account-key request by the attacker.
    pub account_key_use: Vec<Location>,
    /// Evidence of a successful attacker request from an untrusted internet address.
    pub internet_access: Vec<Location>,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

/// Consumes storage requests one at a time.
pub struct StorageAggregator<'a> {
    scope: &'a Scope,
    env: &'a Environment,
    listings: Vec<KeyListing>,
    open: BTreeMap<BurstKey, Burst>,
    closed: Vec<Burst>,
    containers: BTreeMap<(String, String), ContainerTally>,
    excluded: BTreeMap<String, ExcludedGroup>,
    requests: u64,
    attacker_requests: u64,
    account_key_use: Vec<Location>,
    internet_access: Vec<Location>,
    /// Per account, each address's first request.
    first_seen: BTreeMap<String, BTreeMap<IpAddr, Timestamp>>,
    /// (listing, address) → its account-key use.
    key_use: BTreeMap<(usize, IpAddr), KeyUse>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    /// Ids of attacker requests already counted: overlapping exports must not double-count
    /// bytes. Only attacker requests are remembered, so memory follows the attacker's
    /// activity, not the log's size; duplicates among benign requests are not detected.
    counted: BTreeSet<String>,
    /// Attacker requests dropped as duplicates.
    pub duplicates: u64,
    /// Per account, the first and last raw request: a summary row of the same account and
    /// time would count its requests twice.
    raw_spans: BTreeMap<String, (Timestamp, Timestamp)>,
    /// Distinct exclusion reasons kept before the rest count as "other" (unbounded in a
    /// chunk's part, whose records are bounded; see [`StorageAggregator::merge`]).
    max_exclusion_reasons: usize,
    /// Scratch space for an exclusion reason (no allocation per request).
    reason_buffer: String,
    /// What `reason_buffer` was last written from.
    last_reason: Option<OwnedReasonKey>,
    /// Requests of the reason in `reason_buffer` since the one that looked its group up, not
    /// yet added to it.
    run: Option<Run>,
}

/// The group of requests beyond the cap on exclusion reasons.
const OTHER_EXCLUDED: &str = "other requests not in the attacker scope";

/// Requests of one exclusion reason in a row (see `add_excluded`).
struct Run {
    /// Their group is [`OTHER_EXCLUDED`] (the reason came after the cap), not the reason's own.
    capped: bool,
    requests: u64,
    first: Timestamp,
    last: Timestamp,
}

/// What an exclusion reason is written from.
struct ReasonKey<'g> {
    auth: &'g str,
    upn: Option<&'g Upn>,
    /// Only when there is no UPN (the reason names the UPN, else the app).
    app: Option<&'g str>,
    ip: Option<IpAddr>,
    why: &'static str,
}

/// A [`ReasonKey`] kept from one request to the next.
struct OwnedReasonKey {
    auth: String,
    upn: Option<Upn>,
    app: Option<String>,
    ip: Option<IpAddr>,
    why: &'static str,
}

impl OwnedReasonKey {
    fn from(k: &ReasonKey) -> Self {
        OwnedReasonKey {
            auth: k.auth.to_string(),
            upn: k.upn.cloned(),
            app: k.app.map(str::to_string),
            ip: k.ip,
            why: k.why,
        }
    }
    fn is(&self, k: &ReasonKey) -> bool {
        self.ip == k.ip
            && self.auth == k.auth
            && self.upn.as_ref() == k.upn
            && self.app.as_deref() == k.app
            && (std::ptr::eq(self.why, k.why) || self.why == k.why)
    }
}

/// Account-key use from one address after one key listing.
#[derive(Debug, Clone)]
struct KeyUse {
    first: Timestamp,
    requests: u64,
    samples: Vec<Location>,
    /// True when `requests` is a lower bound (a summary row ran past the window's end).
    at_least: bool,
}

impl KeyUse {
    fn new(first: Timestamp) -> Self {
        KeyUse {
            first,
            requests: 0,
            samples: Vec::new(),
            at_least: false,
        }
    }
}

fn widen(spans: &mut BTreeMap<String, (Timestamp, Timestamp)>, account: &str, first: Timestamp, last: Timestamp) {
    match spans.get_mut(account) {
        Some((f, l)) => {
            *f = (*f).min(first);
            *l = (*l).max(last);
        }
        None => {
            spans.insert(account.to_string(), (first, last));
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn push_sample(v: &mut Vec<Location>, l: &Location) {
    if v.len() < EVIDENCE_SAMPLES {
        v.push(l.clone());
    }
}

impl<'a> StorageAggregator<'a> {
    pub fn new(scope: &'a Scope, env: &'a Environment, listings: Vec<KeyListing>) -> Self {
        StorageAggregator {
            scope,
            env,
            listings,
            open: BTreeMap::new(),
            closed: Vec::new(),
            containers: BTreeMap::new(),
            excluded: BTreeMap::new(),
            requests: 0,
            attacker_requests: 0,
            account_key_use: Vec::new(),
            internet_access: Vec::new(),
            first_seen: BTreeMap::new(),
            key_use: BTreeMap::new(),
            first: None,
            last: None,
            counted: BTreeSet::new(),
            duplicates: 0,
            raw_spans: BTreeMap::new(),
            max_exclusion_reasons: MAX_EXCLUSION_REASONS,
            reason_buffer: String::new(),
            last_reason: None,
            run: None,
        }
    }

    /// From an attacker address, or by a compromised identity inside its compromise window
    /// and not from the organisation's own addresses (the legitimate user's work is not
    /// the attacker's, even under the same name).
    pub fn is_attacker(&self, r: &BlobRequest) -> bool {
        self.attribution(&r.caller_ip, r.requester_upn.as_ref(), r.at, r.at) == Attribution::Attacker
    }

    fn attribution(&self, ip: &Option<IpAddr>, upn: Option<&Upn>, first: Timestamp, last: Timestamp) -> Attribution {
        if ip.is_some_and(|ip| self.scope.has_ip(&ip)) {
            return Attribution::Attacker;
        }
        let Some(u) = upn.filter(|_| ip.is_none_or(|ip| own_address(self.env, &ip).is_none())) else {
            return Attribution::Other;
        };
        // The window is open-ended: inside at `first` means inside throughout.
        match (
            self.scope.identity_compromised_at(u, first),
            self.scope.identity_compromised_at(u, last),
        ) {
            (true, _) => Attribution::Attacker,
            (false, false) => Attribution::Other,
            (false, true) => Attribution::Straddles,
        }
    }

    fn attribution_of(&self, g: &RequestGroup) -> Attribution {
        self.attribution(&g.caller_ip, g.requester_upn.as_ref(), g.first, g.last)
    }

    /// Takes one raw request.
    pub fn add(&mut self, r: BlobRequest) {
        widen(&mut self.raw_spans, &r.account, r.at, r.at);
        self.add_group(RequestGroup::from(r));
    }

    /// Takes the rows of a storage summary, in order of their first request (the order
    /// bursts are built in). Returns, without adding them, the rows whose account and time
    /// raw requests already cover: the same requests would count twice.
    pub fn add_summary(&mut self, rows: impl IntoIterator<Item = SummaryRow>) -> Vec<(String, Location)> {
        let (overlapping, mut groups): (Vec<RequestGroup>, Vec<RequestGroup>) = rows.into_iter().map(RequestGroup::from).partition(|g| {
            self.raw_spans
                .get(g.account.as_ref())
                .is_some_and(|(first, last)| g.first <= *last && g.last >= *first)
        });
        groups.sort_by_key(|g| (g.first, g.last));
        for g in groups {
            self.add_group(g);
        }
        overlapping.into_iter().map(|g| (g.account.into_owned(), g.origin)).collect()
    }

    /// Takes one group of requests.
    pub fn add_group(&mut self, g: RequestGroup) {
        let attribution = self.attribution_of(&g);
        if attribution == Attribution::Attacker {
            if let Objects::One(blob) = &g.objects {
                let key = g
                    .request_id
                    .clone()
                    .map(|id| format!("{id}|{}|{}", g.operation, g.status_code))
                    .unwrap_or_else(|| {
                        format!(
                            "{}|{}|{:?}|{:?}|{}",
                            g.first.0.timestamp_micros(),
                            g.operation,
                            blob,
                            g.caller_ip,
                            g.bytes.0
                        )
                    });
                if !self.counted.insert(key) {
                    self.duplicates += 1;
                    return;
                }
            }
        }
        self.requests += g.requests;
        self.first = Some(self.first.map_or(g.first, |f| f.min(g.first)));
        self.last = Some(self.last.map_or(g.last, |l| l.max(g.last)));
        if let Some(ip) = g.caller_ip {
            let seen = match self.first_seen.get_mut(g.account.as_ref()) {
                Some(seen) => seen,
                None => self.first_seen.entry(g.account.to_string()).or_default(),
            };
            let e = seen.entry(ip).or_insert(g.first);
            *e = (*e).min(g.first);
            if g.succeeded() && g.uses_account_key() {
                self.note_key_use(&g, ip);
            }
        }
        match attribution {
            Attribution::Attacker => self.add_attacker(g),
            Attribution::Other => self.add_excluded(&g, None),
            Attribution::Straddles => {
                let container = g.container.as_deref().unwrap_or("(account)").to_string();
                self.containers
                    .entry((g.account.to_string(), container.clone()))
                    .or_insert_with(|| ContainerTally {
                        account: g.account.to_string(),
                        container,
                        ..ContainerTally::default()
                    })
                    .uncertain_requests += g.requests;
                self.add_excluded(
                    &g,
                    Some("a summary row spanning the start of the identity's compromise window: counted neither as the attacker's nor as benign (export these raw rows to count them exactly)"),
                );
            }
        }
    }

    /// Account-key requests inside a key listing's window. A summary row counts in full
    /// when it lies inside the window; one that runs past its end counts its first request
    /// only, and the count is a lower bound.
    fn note_key_use(&mut self, g: &RequestGroup, ip: IpAddr) {
        for (i, l) in self.listings.iter().enumerate() {
            let window = 0..=KEY_USE_WINDOW_SECONDS;
            if l.account != g.account || !window.contains(&l.at.seconds_until(g.first)) {
                continue;
            }
            let whole = window.contains(&l.at.seconds_until(g.last));
            let e = self.key_use.entry((i, ip)).or_insert_with(|| KeyUse::new(g.first));
            e.first = e.first.min(g.first);
            e.requests += if whole { g.requests } else { 1 };
            e.at_least |= !whole;
            push_sample(&mut e.samples, &g.origin);
        }
    }

    fn add_attacker(&mut self, g: RequestGroup) {
        self.attacker_requests += g.requests;
        let ok = g.succeeded();
        if ok && g.uses_account_key() {
            push_sample(&mut self.account_key_use, &g.origin);
        }
        if ok && g.caller_ip.is_some_and(|ip| !self.env.ip_trusted(&ip) && !is_internal(&ip)) {
            push_sample(&mut self.internet_access, &g.origin);
        }
        let container = g.container.as_deref().unwrap_or("(account)").to_string();
        let tally = self
            .containers
            .entry((g.account.to_string(), container.clone()))
            .or_insert_with(|| ContainerTally {
                account: g.account.to_string(),
                container: container.clone(),
                ..ContainerTally::default()
            });
        tally.first = Some(tally.first.map_or(g.first, |f| f.min(g.first)));
        tally.last = Some(tally.last.map_or(g.last, |l| l.max(g.last)));
        if !ok {
            tally.failed_requests += g.requests;
        } else if g.is_data_read() {
            tally.read_requests += g.requests;
            tally.bytes = tally.bytes.saturating_add(g.bytes);
            add_objects(tally, &g.objects);
            push_sample(&mut tally.evidence, &g.origin);
        } else if g.is_listing() {
            tally.listing_requests += g.requests;
        } else if g.operation.starts_with("Delete") {
            tally.delete_requests += g.requests;
        } else if g.operation.starts_with("Put") || g.operation.starts_with("Set") || g.operation.starts_with("Copy") {
            tally.write_requests += g.requests;
        }
        self.add_to_burst(g, container, ok);
    }

    fn add_to_burst(&mut self, g: RequestGroup, container: String, ok: bool) {
        let key = BurstKey {
            account: g.account.to_string(),
            operation: g.operation.to_string(),
            container: if g.is_listing() { None } else { Some(container.clone()) },
            succeeded: ok,
        };
        if let Some(b) = self.open.get(&key) {
            if b.end.seconds_until(g.first).abs() > BURST_GAP_SECONDS && g.first > b.end {
                if let Some(done) = self.open.remove(&key) {
                    self.closed.push(done);
                }
            }
        }
        let b = self.open.entry(key.clone()).or_insert_with(|| Burst {
            key,
            start: g.first,
            end: g.last,
            count: 0,
            bytes: Bytes(0),
            containers: BTreeSet::new(),
            ips: BTreeSet::new(),
            auth: BTreeSet::new(),
            status_codes: BTreeSet::new(),
            evidence: Vec::new(),
        });
        b.start = b.start.min(g.first);
        b.end = b.end.max(g.last);
        b.count += g.requests;
        if ok && g.is_data_read() {
            b.bytes = b.bytes.saturating_add(g.bytes);
        }
        b.containers.insert(container);
        if let Some(ip) = g.caller_ip {
            b.ips.insert(ip);
        }
        b.auth.insert(g.auth.name());
        if !ok {
            b.status_codes.insert(g.status_code);
        }
        push_sample(&mut b.evidence, &g.origin);
    }

    fn add_excluded(&mut self, g: &RequestGroup, why: Option<&'static str>) {
        use std::fmt::Write as _;
        let why = why.unwrap_or(match &g.requester_upn {
            Some(u) if self.scope.has_identity(u) => {
                "the compromised identity's own work (before its compromise window or from the organisation's address)"
            }
            // With no compromise established there is no attacker scope to be outside of.
            _ if self.scope.verdict == super::scope::CaseVerdict::NotEstablished => {
                "no lead ties them to an attacker (no compromise is established)"
            }
            _ => "not in the attacker scope",
        });
        // The reason is written into a reused buffer, and not at all when the request is by
        // the same principal, address and authentication as the one before (the buffer still
        // holds its reason): most requests join a group that exists.
        let key = ReasonKey {
            auth: g.auth.as_str(),
            upn: g.requester_upn.as_ref(),
            app: g.requester_app.as_deref().filter(|_| g.requester_upn.is_none()),
            ip: g.caller_ip,
            why,
        };
        // A request of the same reason as the one before joins the run of them, added to
        // their group all at once when the reason changes (no look-up of the group each).
        let same = self.last_reason.as_ref().is_some_and(|last| last.is(&key));
        if same {
            if let Some(run) = &mut self.run {
                run.requests += g.requests;
                run.first = run.first.min(g.first);
                run.last = run.last.max(g.last);
                return;
            }
        } else {
            self.end_run();
        }
        let mut reason = std::mem::take(&mut self.reason_buffer);
        if !same {
            reason.clear();
            let _ = write!(reason, "{} requests by ", key.auth);
            let _ = match (key.upn, key.app) {
                (Some(u), _) => write!(reason, "{u}"),
                (None, Some(a)) => write!(reason, "app {a}"),
                (None, None) => reason.write_str("an unnamed principal"),
            };
            let _ = match key.ip {
                Some(ip) => write!(reason, " from {ip}: {why}"),
                None => write!(reason, " from an unrecorded address: {why}"),
            };
            self.last_reason = Some(OwnedReasonKey::from(&key));
        }
        // The run starts with this request, added to its group here.
        let mut run = Run {
            capped: false,
            requests: 0,
            first: g.first,
            last: g.last,
        };
        if let Some(e) = self.excluded.get_mut(reason.as_str()) {
            e.requests += g.requests;
            e.first = e.first.min(g.first);
            e.last = e.last.max(g.last);
            self.reason_buffer = reason;
            self.run = Some(run);
            return;
        }
        run.capped = self.excluded.len() >= self.max_exclusion_reasons;
        let key = if run.capped { OTHER_EXCLUDED.to_string() } else { reason.clone() };
        self.run = Some(run);
        self.reason_buffer = reason;
        let e = self.excluded.entry(key.clone()).or_insert_with(|| ExcludedGroup {
            reason: key,
            requests: 0,
            first: g.first,
            last: g.last,
            example: g.origin.clone(),
        });
        e.requests += g.requests;
        e.first = e.first.min(g.first);
        e.last = e.last.max(g.last);
    }

    /// Adds the run of requests of the last reason to its group (see `add_excluded`);
    /// before the groups are read or the reason changes.
    fn end_run(&mut self) {
        let Some(run) = self.run.take() else {
            return;
        };
        let key = if run.capped { OTHER_EXCLUDED } else { self.reason_buffer.as_str() };
        if let Some(e) = self.excluded.get_mut(key) {
            e.requests += run.requests;
            e.first = e.first.min(run.first);
            e.last = e.last.max(run.last);
        }
    }

    /// An empty aggregator for one chunk of a parallel ingest: same scope, environment and
    /// key listings, no cap on exclusion reasons (a chunk's records are bounded).
    pub fn part(&self) -> StorageAggregator<'a> {
        let mut part = StorageAggregator::new(self.scope, self.env, self.listings.clone());
        part.max_exclusion_reasons = usize::MAX;
        part
    }

    /// Whether a request must reach [`add`](Self::add) of the main aggregator in log order,
    /// because what it adds depends on the requests before it: attacker requests
    /// (de-duplication, bursts, evidence samples) and account-key requests inside a key
    /// listing's window (their evidence samples). Every other request can go to a chunk's
    /// [`part`](Self::part), merged later with [`merge`](Self::merge). Keep in step with `add`.
    pub fn must_see_in_order(&self, r: &BlobRequest) -> bool {
        self.is_attacker(r)
            || (r.caller_ip.is_some()
                && r.succeeded()
                && r.auth.uses_account_key(r.auth_hash.as_deref())
                && self
                    .listings
                    .iter()
                    .any(|l| l.account == r.account && (0..=KEY_USE_WINDOW_SECONDS).contains(&l.at.seconds_until(r.at))))
    }

    /// Folds in a chunk's part that saw only requests for which
    /// [`must_see_in_order`](Self::must_see_in_order) is false, as if its requests had been
    /// added here in order. `offset` is what comes before the chunk in the same file (the
    /// part numbered records and lines from the chunk's start). Parts merged in chunk order
    /// give the same findings as one sequential pass, whatever the number of threads.
    pub fn merge(&mut self, mut later: StorageAggregator<'a>, offset: crate::error::Offset) {
        debug_assert_eq!(later.attacker_requests, 0, "a part must not see attacker requests");
        later.end_run();
        self.end_run();
        let shifted = |mut l: Location| {
            l.shift(offset);
            l
        };
        self.requests += later.requests;
        self.duplicates += later.duplicates;
        for (account, (first, last)) in later.raw_spans {
            widen(&mut self.raw_spans, &account, first, last);
        }
        for t in [later.first, later.last].into_iter().flatten() {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
        for (account, seen) in later.first_seen {
            let mine = self.first_seen.entry(account).or_default();
            for (ip, at) in seen {
                let e = mine.entry(ip).or_insert(at);
                *e = (*e).min(at);
            }
        }
        for (key, u) in later.key_use {
            let e = self.key_use.entry(key).or_insert_with(|| KeyUse::new(u.first));
            e.first = e.first.min(u.first);
            e.requests += u.requests;
            e.at_least |= u.at_least;
            for l in u.samples {
                push_sample(&mut e.samples, &shifted(l));
            }
        }
        // Groups in order of their first request, so the cap admits the same reasons as a
        // sequential pass would.
        let mut groups: Vec<ExcludedGroup> = later.excluded.into_values().collect();
        groups.sort_by_key(|g| (g.example.record, g.example.line));
        for g in groups {
            let mut reason = g.reason;
            if !self.excluded.contains_key(&reason) && self.excluded.len() >= self.max_exclusion_reasons {
                reason = OTHER_EXCLUDED.into();
            }
            let example = shifted(g.example);
            let e = self.excluded.entry(reason.clone()).or_insert_with(|| ExcludedGroup {
                reason,
                requests: 0,
                first: g.first,
                last: g.last,
                example,
            });
            e.requests += g.requests;
            e.first = e.first.min(g.first);
            e.last = e.last.max(g.last);
        }
    }

    /// Closes open bursts and returns the findings.
    pub fn finish(mut self) -> StorageFindings {
        self.end_run();
        self.closed.extend(std::mem::take(&mut self.open).into_values());
        self.closed.sort_by(|a, b| (a.start, &a.key).cmp(&(b.start, &b.key)));
        let steps = self.closed.iter().map(burst_step).collect();
        let containers = self
            .containers
            .into_values()
            .map(|mut t| {
                t.distinct_objects = (t.objects.len() as u64).max(t.objects_floor);
                // One capped row alone still gives its exact count; with other sources the
                // union of what was listed is only a floor.
                t.distinct_objects_at_least = t.capped_rows > 0 && t.object_sources > 1;
                t
            })
            .collect();
        let mut key_use_hits: Vec<KeyUseHit> = self
            .key_use
            .into_iter()
            .filter_map(|((i, ip), u)| {
                let l = &self.listings[i];
                // Only an address that had not used the account before the listing is "new".
                let seen = self.first_seen.get(&l.account).and_then(|s| s.get(&ip)).copied();
                (seen.is_none_or(|s| s >= l.at)).then(|| KeyUseHit {
                    account: l.account.clone(),
                    listed_at: l.at,
                    listed_by: l.caller.clone(),
                    ip,
                    first_use: u.first,
                    requests: u.requests,
                    requests_at_least: u.at_least,
                    evidence: u.samples,
                })
            })
            .collect();
        key_use_hits.sort_by_key(|h| (h.first_use, h.ip));
        StorageFindings {
            requests: self.requests,
            duplicates: self.duplicates,
            attacker_requests: self.attacker_requests,
            containers,
            steps,
            excluded: self.excluded.into_values().collect(),
            key_use_hits,
            account_key_use: self.account_key_use,
            internet_access: self.internet_access,
            first: self.first,
            last: self.last,
        }
    }
}

/// Adds a group's objects to a container's distinct objects (see [`Objects`]).
fn add_objects(tally: &mut ContainerTally, objects: &Objects) {
    match objects {
        Objects::One(None) | Objects::Set { distinct: 0, .. } => {}
        Objects::One(Some(b)) => {
            tally.objects.insert(b.to_string());
            tally.object_sources += 1;
        }
        Objects::Set { names, distinct, complete } => {
            tally.objects.extend(names.iter().cloned());
            tally.objects_floor = tally.objects_floor.max(*distinct);
            tally.capped_rows += u64::from(!complete);
            tally.object_sources += 1;
        }
    }
}

fn burst_step(b: &Burst) -> Step {
    let kind = match b.key.operation.as_str() {
        "ListBlobs" | "ListContainers" | "ListBlobHierarchySegment" => StepKind::BlobListing,
        "GetBlob" | "CopyBlobSource" | "GetBlobContent" => StepKind::BlobRead,
        _ => StepKind::OtherWrite,
    };
    let containers: Vec<&str> = b.containers.iter().map(String::as_str).collect();
    let mut detail = vec![format!("{} request{}", b.count, if b.count == 1 { "" } else { "s" })];
    if kind == StepKind::BlobRead && b.key.succeeded {
        detail.push(format!("{} downloaded", b.bytes));
    }
    let auth = b.auth.iter().cloned().collect::<Vec<_>>().join(", ");
    detail.push(format!("auth {auth}"));
    let outcome = if b.key.succeeded { Outcome::Succeeded } else { Outcome::Failed };
    let codes: Vec<String> = b.status_codes.iter().map(|c| format!("HTTP {c}")).collect();
    let outcome_text = outcome_phrase(outcome, (!codes.is_empty()).then(|| codes.join(", ")).as_deref());
    let place = format!("{}/{}", b.key.account, containers.join(", "));
    let n = b.count;
    let plural = if n == 1 { "" } else { "s" };
    let summary = match (kind, b.key.succeeded) {
        (StepKind::BlobRead, true) => format!("{} downloaded from {place} ({n} read{plural}, {auth})", b.bytes),
        (StepKind::BlobRead, false) => format!("{n} read{plural} of {place} {outcome_text}"),
        (StepKind::BlobListing, true) => format!("{n} listing{plural} of {place} ({auth})"),
        (StepKind::BlobListing, false) => format!("{n} listing{plural} of {place} {outcome_text}"),
        (_, true) => format!("{n} × {} on {place}", b.key.operation),
        (_, false) => format!("{n} × {} on {place} {outcome_text}", b.key.operation),
    };
    Step {
        id: String::new(),
        kind,
        phase: Phase::Storage,
        at: b.start,
        end: Some(b.end),
        action: format!("{} × {}", b.key.operation, b.count),
        target: format!("{} [{}]", b.key.account, containers.join(", ")),
        detail: detail.join(" | "),
        outcome,
        attempt: !b.key.succeeded,
        outcome_text,
        summary,
        actor: None,
        ip: b.ips.iter().next().copied(),
        count: b.count,
        bytes: (kind == StepKind::BlobRead).then_some(b.bytes),
        bytes_human: (kind == StepKind::BlobRead).then(|| b.bytes.human()),
        evidence: b.evidence.clone(),
        why: format!(
            "from attacker address {}",
            b.ips.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
        ),
        resource: None,
        details: None,
        seen_from: Vec::new(),
    }
}

/// Exposure of one container, joined with the data inventory.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerExposure {
    pub account: String,
    pub container: String,
    pub read_requests: u64,
    pub bytes: Bytes,
    /// `bytes` in decimal units ("2.3 GB").
    pub bytes_human: String,
    pub distinct_objects: u64,
    /// True when `distinct_objects` is a lower bound (see [`ContainerTally`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub distinct_objects_at_least: bool,
    /// Requests that may be the attacker's but could not be attributed (see
    /// [`ContainerTally`]): when not zero, every figure of this container is a lower bound.
    #[serde(skip_serializing_if = "is_zero")]
    pub uncertain_requests: u64,
    pub listing_requests: u64,
    pub failed_requests: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// None when the inventory does not describe this container.
    pub inventory: Option<InventoryView>,
    pub evidence: Vec<Location>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InventoryView {
    /// False when the inventory declares the container holds no personal data.
    pub personal_data: bool,
    pub description: Option<String>,
    pub categories: Vec<String>,
    pub subject_categories: Vec<String>,
    pub records: Option<u64>,
    pub subjects: Option<u64>,
}

/// Totals across containers that had data read.
#[derive(Debug, Clone, Serialize)]
pub struct Exposure {
    pub containers: Vec<ContainerExposure>,
    pub bytes: Bytes,
    /// `bytes` in decimal units ("2.45 GB").
    pub bytes_human: String,
    pub read_requests: u64,
    pub distinct_objects: u64,
    /// True when `distinct_objects` is a lower bound (a container's count is).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub distinct_objects_at_least: bool,
    /// Requests that may be the attacker's but could not be attributed: when not zero,
    /// requests, bytes and objects are lower bounds.
    #[serde(skip_serializing_if = "is_zero")]
    pub uncertain_requests: u64,
    pub accounts: Vec<String>,
    /// Containers whose data was read (listing alone reveals names, not content).
    pub containers_read: Vec<String>,
    /// Sum of inventory records of read containers; None if any lacks an inventory figure.
    pub records: Option<u64>,
    pub subjects: Option<u64>,
}

/// Joins tallies with the inventory.
pub fn build_exposure(findings: &StorageFindings, inventory: &[DataAsset]) -> Exposure {
    let mut containers: Vec<ContainerExposure> = findings
        .containers
        .iter()
        .map(|t| {
            let inv = inventory.iter().find(|d| d.account == t.account && d.container == t.container);
            ContainerExposure {
                account: t.account.clone(),
                container: t.container.clone(),
                read_requests: t.read_requests,
                bytes: t.bytes,
                bytes_human: t.bytes.human(),
                distinct_objects: t.distinct_objects,
                distinct_objects_at_least: t.distinct_objects_at_least,
                uncertain_requests: t.uncertain_requests,
                listing_requests: t.listing_requests,
                failed_requests: t.failed_requests,
                first: t.first,
                last: t.last,
                inventory: inv.map(|d| InventoryView {
                    personal_data: d.personal_data,
                    description: d.description.clone(),
                    categories: d.categories.iter().map(|c| c.name.clone()).collect(),
                    subject_categories: d.subject_categories.clone(),
                    records: d.records,
                    subjects: d.subjects,
                }),
                evidence: t.evidence.clone(),
            }
        })
        .collect();
    containers.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.container.cmp(&b.container)));
    let read: Vec<&ContainerExposure> = containers.iter().filter(|c| c.read_requests > 0).collect();
    let sum = |f: &dyn Fn(&ContainerExposure) -> Option<u64>| -> Option<u64> {
        if read.is_empty() {
            return Some(0);
        }
        read.iter().map(|c| f(c)).sum()
    };
    // Records and subjects sum over the personal-data containers read; a container without
    // personal data adds none, one missing from the inventory makes the sum unknown.
    let personal = |c: &ContainerExposure, f: &dyn Fn(&InventoryView) -> Option<u64>| match &c.inventory {
        Some(i) if !i.personal_data => Some(0),
        Some(i) => f(i),
        None => None,
    };
    let records = sum(&|c| personal(c, &|i| i.records));
    let subjects = sum(&|c| personal(c, &|i| i.subjects));
    let mut accounts: Vec<String> = containers.iter().map(|c| c.account.clone()).collect();
    accounts.dedup();
    let bytes = read.iter().fold(Bytes(0), |a, c| a.saturating_add(c.bytes));
    Exposure {
        bytes,
        bytes_human: bytes.human(),
        read_requests: read.iter().map(|c| c.read_requests).sum(),
        distinct_objects: read.iter().map(|c| c.distinct_objects).sum(),
        distinct_objects_at_least: read.iter().any(|c| c.distinct_objects_at_least),
        uncertain_requests: containers.iter().map(|c| c.uncertain_requests).sum(),
        containers_read: read.iter().map(|c| c.container.clone()).collect(),
        accounts,
        records,
        subjects,
        containers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::scope::CaseVerdict;
    use std::path::Path;
    use std::sync::Arc;

    fn scope() -> Scope {
        Scope::empty(CaseVerdict::CompromiseConfirmed)
    }

    /// Request `n` of a file, from address `10.0.0.<ip>`, its time going back and forth.
    fn request(file: &Arc<Path>, n: u64, ip: u8) -> BlobRequest<'static> {
        let at = chrono::TimeZone::timestamp_opt(&chrono::Utc, 1_700_000_000 + (n as i64 * 37 % 101), 0).unwrap();
        BlobRequest {
            at: Timestamp(at),
            account: "acct".into(),
            operation: "GetBlob".into(),
            status_code: 200,
            auth: AuthType::OAuth,
            auth_hash: None,
            caller_ip: Some(IpAddr::from([10, 0, 0, ip])),
            container: Some("c".into()),
            blob: Some(format!("b{n}").into()),
            response_bytes: Bytes(1),
            requester_upn: None,
            requester_app: Some("app".into()),
            request_id: None,
            origin: Location::record_in(file, n + 1, n),
        }
    }

    /// Runs of requests of one reason, of every length, more reasons than the cap, and
    /// reasons coming back after others and after the cap: the groups are as counting each
    /// request on its own gives them, in one pass and in parts merged in order.
    #[test]
    fn excluded_groups_are_the_sum_of_their_requests() {
        let scope = scope();
        let env = Environment::default();
        let file: Arc<Path> = Arc::from(Path::new("s.jsonl"));
        let mut ips = Vec::new();
        for (i, ip) in (0..70u8).chain([3, 3, 60, 1, 65, 65, 65, 2]).enumerate() {
            ips.extend(std::iter::repeat_n(ip, i % 4 + 1));
        }
        let requests: Vec<_> = ips.iter().enumerate().map(|(n, &ip)| request(&file, n as u64 + 1, ip)).collect();
        // Each request on its own: the first MAX_EXCLUSION_REASONS reasons have groups, the
        // rest share one.
        let mut expected: BTreeMap<String, (u64, Timestamp, Timestamp, u64)> = BTreeMap::new();
        let mut own = Vec::new();
        for r in &requests {
            let ip = r.caller_ip.unwrap();
            if !own.contains(&ip) && own.len() < MAX_EXCLUSION_REASONS {
                own.push(ip);
            }
            let key = if own.contains(&ip) {
                format!("OAuth requests by app app from {ip}: not in the attacker scope")
            } else {
                OTHER_EXCLUDED.to_string()
            };
            let e = expected.entry(key).or_insert((0, r.at, r.at, r.origin.record.unwrap()));
            e.0 += 1;
            e.1 = e.1.min(r.at);
            e.2 = e.2.max(r.at);
        }
        let groups = |findings: StorageFindings| -> BTreeMap<String, (u64, Timestamp, Timestamp, u64)> {
            findings
                .excluded
                .into_iter()
                .map(|g| (g.reason, (g.requests, g.first, g.last, g.example.record.unwrap())))
                .collect()
        };
        let mut whole = StorageAggregator::new(&scope, &env, Vec::new());
        for r in requests.clone() {
            whole.add(r);
        }
        assert_eq!(groups(whole.finish()), expected);
        for parts in [2, 3, 7] {
            let mut main = StorageAggregator::new(&scope, &env, Vec::new());
            let size = requests.len().div_ceil(parts);
            for (i, chunk) in requests.chunks(size).enumerate() {
                let mut part = main.part();
                for mut r in chunk.iter().cloned() {
                    r.origin.record = r.origin.record.map(|n| n - (i * size) as u64);
                    part.add(r);
                }
                let offset = crate::error::Offset {
                    records: (i * size) as u64,
                    lines: (i * size) as u64,
                };
                main.merge(part, offset);
            }
            assert_eq!(groups(main.finish()), expected, "{parts} parts");
        }
    }
}
