//! Newtypes that carry meaning through the pipeline: instants, byte counts, identities,
//! addresses, resource ids and regions. No I/O and no business rules live here; each type's
//! `Display` decides how the value looks in every report.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

/// The first and last instant of a set of records (UTC), widened one record at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl Span {
    /// Widens the span to include `t`.
    pub fn add(&mut self, t: Timestamp) {
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
    }
}

/// An instant, always UTC. The case's IANA zone is applied only when a report displays it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// Seconds elapsed from `self` to `later` (negative when `later` is earlier).
    pub fn seconds_until(self, later: Timestamp) -> i64 {
        (later.0 - self.0).num_seconds()
    }

    /// `self` shifted by a number of seconds.
    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0 + chrono::Duration::seconds(seconds))
    }

    /// RFC 3339 with second precision and `Z`, the form used in JSON output.
    pub fn rfc3339(self) -> String {
        self.0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// `HH:MM` in UTC, the form the seed's tables use.
    pub fn hhmm(self) -> String {
        self.0.format("%H:%M").to_string()
    }

    /// A time of day with its zone, `03:22 UTC`: for sentences that reports of any display
    /// zone quote as they are.
    pub fn hhmm_utc(self) -> String {
        format!("{} UTC", self.hhmm())
    }

    /// A time of day as a report sentence states it: `03:22 UTC`, with the case's zone
    /// beside it when that is not UTC (`03:22 UTC (04:22 CET)`); the local date is added
    /// when it is not the UTC date.
    pub fn hhmm_zoned(self, tz: chrono_tz::Tz) -> String {
        format!("{} UTC{}", self.hhmm(), self.beside(tz))
    }

    /// Date and time as a report sentence states it: `2024-03-21 03:22:40 UTC`, with the
    /// case's zone beside it when that is not UTC (`… UTC (04:22 CET)`).
    pub fn display_zoned(self, tz: chrono_tz::Tz) -> String {
        format!("{self}{}", self.beside(tz))
    }

    /// ` (04:22 CET)` or ` (2024-03-22 00:30 CET)`; empty for a zone that is UTC.
    fn beside(self, tz: chrono_tz::Tz) -> String {
        if is_utc_zone(tz) {
            return String::new();
        }
        let local = self.0.with_timezone(&tz);
        if local.date_naive() == self.0.date_naive() {
            format!(" ({})", local.format("%H:%M %Z"))
        } else {
            format!(" ({})", local.format("%Y-%m-%d %H:%M %Z"))
        }
    }
}

/// Whether a zone is UTC all year (its times need no second zone beside them).
pub fn is_utc_zone(tz: chrono_tz::Tz) -> bool {
    matches!(
        tz.name(),
        "UTC" | "UCT" | "Universal" | "Zulu" | "GMT" | "GMT0" | "GMT+0" | "GMT-0" | "Greenwich"
    ) || tz.name().strip_prefix("Etc/").is_some_and(|n| {
        matches!(
            n,
            "UTC" | "UCT" | "Universal" | "Zulu" | "GMT" | "GMT0" | "GMT+0" | "GMT-0" | "Greenwich"
        )
    })
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d %H:%M:%S UTC"))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

/// A count of bytes. Reports use decimal SI units: 1 GB = 10⁹ bytes and 1 MB = 10⁶ bytes,
/// as the seed's "2.3 GB + 145 MB = 2.45 GB" does; reports say so next to the figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Bytes(pub u64);

impl Bytes {
    /// Decimal gigabytes (10⁹ bytes).
    pub fn gb(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Sum that saturates instead of overflowing on hostile input.
    pub fn saturating_add(self, other: Bytes) -> Bytes {
        Bytes(self.0.saturating_add(other.0))
    }

    /// A compact human form with the unit chosen by magnitude: "2.3 GB", "145 MB", "0 bytes".
    /// Two decimals at most, rounded half up in integer arithmetic (2,445,000,000 bytes is
    /// "2.45 GB", as the seed writes it), trailing zeros trimmed.
    pub fn human(self) -> String {
        let (unit_bytes, unit) = match self.0 {
            n if n >= 1_000_000_000_000 => (1_000_000_000_000u64, "TB"),
            n if n >= 1_000_000_000 => (1_000_000_000, "GB"),
            n if n >= 1_000_000 => (1_000_000, "MB"),
            n if n >= 1_000 => (1_000, "kB"),
            n => return format!("{n} bytes"),
        };
        let hundredths = (u128::from(self.0) * 100 + u128::from(unit_bytes) / 2) / u128::from(unit_bytes);
        let (whole, frac) = (hundredths / 100, hundredths % 100);
        let text = format!("{whole}.{frac:02}");
        format!("{} {unit}", text.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// A count with its noun in the right number: `counted(1, "request", "requests")` → "1 request".
pub fn counted(n: impl Into<u64>, singular: &str, plural: &str) -> String {
    let n = n.into();
    format!("{} {}", thousands(n), if n == 1 { singular } else { plural })
}

/// Words as a list in a sentence: "a", "a and b", "a, b and c".
pub fn join_words<S: AsRef<str>>(words: &[S]) -> String {
    match words {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter().map(|w| w.as_ref()).collect::<Vec<_>>().join(", "),
            last.as_ref()
        ),
    }
}

/// A phrase as a sentence: its first character in upper case.
pub fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// A sentence as a phrase: its first character in lower case.
pub fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

/// A duration in report words: "under 1 min", "26 min", "6 h", "6 h 12 min".
pub fn duration_words(seconds: i64) -> String {
    if seconds < 60 {
        return "under 1 min".into();
    }
    let m = seconds / 60;
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Thousands separators for counts in reports: 154300 → "154,300".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.human())
    }
}

/// Formats with at most `places` decimals and no trailing zeros ("2.3", "2.45", "145").
pub fn trim_decimals(value: f64, places: usize) -> String {
    let s = format!("{value:.places$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A user principal name, compared case-insensitively (Entra ID treats UPNs so), stored
/// lower-cased. A service principal's object id (a GUID caller) is stored the same way.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Upn(String);

impl Upn {
    pub fn new(raw: &str) -> Upn {
        Upn(trim(raw).to_lowercase())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `str::trim`, answering at once for text that starts and ends with a visible ASCII
/// character (almost every log value), which has no white space to remove at either end.
#[inline]
pub fn trim(s: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|b| (0x21..0x7f).contains(b));
    if visible(s.as_bytes().first()) && visible(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// An IP address as logs give it, without port. Parsing strips `:port`, `[v6]:port` and
/// rejects placeholders such as `<Redacted>` (those become "unknown", never an address).
pub fn parse_ip(raw: &str) -> Option<IpAddr> {
    let s = trim(raw);
    if s.is_empty() {
        return None;
    }
    // The usual "198.51.100.77:50123" first: with exactly one colon the text is no IPv6
    // address, so only the host-and-port reading below can succeed.
    let colon = memchr::memchr(b':', s.as_bytes());
    if let Some((host, port)) = colon
        .map(|i| (&s[..i], &s[i + 1..]))
        .filter(|(_, port)| !s.starts_with('[') && memchr::memchr(b':', port.as_bytes()).is_none())
    {
        return if port.bytes().all(|b| b.is_ascii_digit()) {
            plain_ipv4(host).or_else(|| host.parse().ok())
        } else {
            None
        };
    }
    if let Some(ip) = plain_ipv4(s).or_else(|| s.parse::<IpAddr>().ok()) {
        return Some(ip);
    }
    // "[2001:db8::1]:443"
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    // "198.51.100.77:50123": split on the last colon (an IPv4 with port has exactly one).
    let (host, port) = s.rsplit_once(':')?;
    if port.chars().all(|c| c.is_ascii_digit()) && !host.contains(':') {
        return host.parse().ok();
    }
    None
}

/// A dotted-quad IPv4 address in its plainest spelling (four numbers of one to three digits
/// up to 255, none with a leading zero), read digit by digit; None for anything else, which
/// std's parser then reads. What this takes std reads the same (`plain_ipv4_is_stds`).
fn plain_ipv4(s: &str) -> Option<IpAddr> {
    let mut octets = [0u8; 4];
    let mut rest = s.as_bytes();
    for (i, octet) in octets.iter_mut().enumerate() {
        if i > 0 {
            rest = rest.strip_prefix(b".")?;
        }
        let n = rest.iter().take(3).take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || (n > 1 && rest[0] == b'0') {
            return None;
        }
        let v = rest[..n].iter().fold(0u32, |v, b| v * 10 + u32::from(b - b'0'));
        *octet = u8::try_from(v).ok()?;
        rest = &rest[n..];
    }
    rest.is_empty().then(|| IpAddr::from(octets))
}

/// An Azure Resource Manager resource id. Comparison is case-insensitive (ARM ids are), so
/// the key is lower-cased; the original spelling is kept for display.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceId {
    pub display: String,
    #[serde(skip)]
    key: String,
}

impl ResourceId {
    pub fn new(raw: &str) -> ResourceId {
        let display = raw.trim().trim_end_matches('/').to_string();
        let key = display.to_lowercase();
        ResourceId { display, key }
    }
    pub fn key(&self) -> &str {
        &self.key
    }
    /// The last path segment (the resource's own name).
    pub fn name(&self) -> &str {
        self.display.rsplit('/').next().unwrap_or(&self.display)
    }
    /// Value of the segment after `segment` (case-insensitive), e.g. `resourceGroups`.
    pub fn segment_after(&self, segment: &str) -> Option<&str> {
        let parts: Vec<&str> = self.display.split('/').collect();
        parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case(segment))
            .and_then(|i| parts.get(i + 1).copied())
    }
    /// The id up to and including `<segment>/<name>` when this id passes through it:
    /// `…/storageAccounts/proddata/blobServices/default` → `…/storageAccounts/proddata`.
    pub fn ancestor_through(&self, segment: &str, name: &str) -> Option<ResourceId> {
        let parts: Vec<&str> = self.display.split('/').collect();
        let i = parts
            .windows(2)
            .position(|w| w[0].eq_ignore_ascii_case(segment) && w[1].eq_ignore_ascii_case(name))?;
        Some(ResourceId::new(&parts[..i + 2].join("/")))
    }

    /// True when `self` equals `other` or lies beneath it.
    pub fn is_within(&self, other: &ResourceId) -> bool {
        self.key == other.key || self.key.starts_with(&format!("{}/", other.key))
    }
}

impl PartialEq for ResourceId {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for ResourceId {}
impl PartialOrd for ResourceId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ResourceId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// An Azure region in its programmatic form (`brazilsouth`). Logs give both `Brazil South`
/// and `brazilsouth`; both normalise to the same value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region(String);

/// Programmatic name → display name for the public Azure regions casefile is likely to see.
/// Source: `az account list-locations -o table` (names stable since their launch).
const REGION_NAMES: &[(&str, &str)] = &[
    ("australiacentral", "Australia Central"),
    ("australiaeast", "Australia East"),
    ("australiasoutheast", "Australia Southeast"),
    ("brazilsouth", "Brazil South"),
    ("brazilsoutheast", "Brazil Southeast"),
    ("canadacentral", "Canada Central"),
    ("canadaeast", "Canada East"),
    ("centralindia", "Central India"),
    ("centralus", "Central US"),
    ("eastasia", "East Asia"),
    ("eastus", "East US"),
    ("eastus2", "East US 2"),
    ("francecentral", "France Central"),
    ("germanywestcentral", "Germany West Central"),
    ("italynorth", "Italy North"),
    ("japaneast", "Japan East"),
    ("japanwest", "Japan West"),
    ("koreacentral", "Korea Central"),
    ("northcentralus", "North Central US"),
    ("northeurope", "North Europe"),
    ("norwayeast", "Norway East"),
    ("polandcentral", "Poland Central"),
    ("southafricanorth", "South Africa North"),
    ("southcentralus", "South Central US"),
    ("southeastasia", "Southeast Asia"),
    ("swedencentral", "Sweden Central"),
    ("switzerlandnorth", "Switzerland North"),
    ("uaenorth", "UAE North"),
    ("uksouth", "UK South"),
    ("ukwest", "UK West"),
    ("westcentralus", "West Central US"),
    ("westeurope", "West Europe"),
    ("westus", "West US"),
    ("westus2", "West US 2"),
    ("westus3", "West US 3"),
];

impl Region {
    /// Normalises `Brazil South`, `brazilsouth` or `BRAZILSOUTH` to `brazilsouth`.
    pub fn new(raw: &str) -> Region {
        Region(raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The portal's display name when known ("Brazil South"), else the programmatic name.
    pub fn display_name(&self) -> &str {
        REGION_NAMES.iter().find(|(k, _)| *k == self.0).map(|(_, v)| *v).unwrap_or(&self.0)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// Serialised as `{"id": "brazilsouth", "name": "Brazil South"}`: the canonical ARM id for
/// machines, the display name for people.
impl Serialize for Region {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Region", 2)?;
        st.serialize_field("id", &self.0)?;
        st.serialize_field("name", self.display_name())?;
        st.end()
    }
}

/// A control's id, the kebab-case stem of its file in `controls/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ControlId(pub String);

impl fmt::Display for ControlId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// US dollars, the pricing currency of Azure's retail price list.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Usd(pub f64);

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${:.2}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_carry_the_case_zone_beside_utc() {
        let t = Timestamp(chrono::TimeZone::with_ymd_and_hms(&Utc, 2024, 3, 21, 23, 30, 5).unwrap());
        assert_eq!(t.hhmm_zoned(chrono_tz::UTC), "23:30 UTC");
        assert_eq!(t.hhmm_zoned(chrono_tz::Etc::GMT), "23:30 UTC");
        assert_eq!(t.hhmm_zoned(chrono_tz::Europe::London), "23:30 UTC (23:30 GMT)");
        assert_eq!(t.hhmm_zoned(chrono_tz::Europe::Berlin), "23:30 UTC (2024-03-22 00:30 CET)");
        assert_eq!(
            t.display_zoned(chrono_tz::Europe::Amsterdam),
            "2024-03-21 23:30:05 UTC (2024-03-22 00:30 CET)"
        );
        let summer = Timestamp(chrono::TimeZone::with_ymd_and_hms(&Utc, 2024, 7, 1, 8, 0, 0).unwrap());
        assert_eq!(summer.hhmm_zoned(chrono_tz::Europe::London), "08:00 UTC (09:00 BST)");
    }

    #[test]
    fn bytes_print_decimal_units_like_the_seed() {
        assert_eq!(Bytes(2_300_000_000).human(), "2.3 GB");
        assert_eq!(Bytes(145_000_000).human(), "145 MB");
        assert_eq!(Bytes(2_445_000_000).human(), "2.45 GB");
        assert_eq!(Bytes(0).human(), "0 bytes");
        assert_eq!(Bytes(999).human(), "999 bytes");
        assert_eq!(Bytes(1_999_999_999).human(), "2 GB");
        assert_eq!(Bytes(u64::MAX).human(), "18446744.07 TB");
        assert_eq!(thousands(154_300), "154,300");
        assert_eq!(thousands(12), "12");
    }

    #[test]
    fn ip_parsing_strips_ports_and_rejects_placeholders() {
        assert_eq!(parse_ip("198.51.100.77:50123"), "198.51.100.77".parse().ok());
        assert_eq!(parse_ip("[2001:db8::1]:443"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("<Redacted>:58555"), None);
        assert_eq!(parse_ip(""), None);
    }

    /// The reading `parse_ip` takes a shortcut through: the whole text as an address, then
    /// `[v6]:port`, then `host:port` split at the last colon.
    fn parse_ip_plainly(raw: &str) -> Option<IpAddr> {
        let s = raw.trim();
        match (s.parse::<IpAddr>(), s.strip_prefix('['), s.rsplit_once(':')) {
            (Ok(ip), _, _) => Some(ip),
            (_, Some(bracketed), _) => bracketed.split(']').next()?.parse().ok(),
            (_, _, Some((host, port))) if port.bytes().all(|b| b.is_ascii_digit()) && !host.contains(':') => host.parse().ok(),
            _ => None,
        }
    }

    #[test]
    fn plain_ipv4_is_stds() {
        let parts = [
            "", "0", "00", "01", "1", "9", "10", "99", "100", "199", "249", "255", "256", "300", "999", "1000", " 1", "1a",
        ];
        let mut taken = 0;
        let mut text = String::new();
        for octets in 3..=5u32 {
            for mut n in 0..parts.len().pow(octets) {
                text.clear();
                for i in 0..octets {
                    if i > 0 {
                        text.push('.');
                    }
                    text.push_str(parts[n % parts.len()]);
                    n /= parts.len();
                }
                if let Some(ip) = plain_ipv4(&text) {
                    assert_eq!(Some(ip), text.parse::<IpAddr>().ok(), "{text}");
                    taken += 1;
                }
            }
        }
        // The four-octet texts of the one-to-three-digit parts without a leading zero or
        // an overflow: 0, 1, 9, 10, 99, 100, 199, 249 and 255.
        assert_eq!(taken, 9usize.pow(4));
    }

    #[test]
    fn trim_is_str_trim() {
        for t in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\u{a0}a",
            "a\u{85}",
            "\u{1c}a\u{1f}",
            "\ta\r\n",
            "é",
            "a b",
            "\u{7f}a",
            "~x~",
        ] {
            assert_eq!(trim(t), t.trim(), "{t:?}");
        }
    }

    #[test]
    fn ip_parsing_reads_every_text_as_the_plain_reading_does() {
        // Every text of up to six characters from an alphabet that makes addresses, ports,
        // brackets and near misses, and some of the logs' shapes.
        let alphabet = ['1', '0', '.', ':', '[', ']', 'a', ' '];
        let mut texts: Vec<String> = vec![String::new()];
        let mut last = texts.clone();
        for _ in 0..6 {
            last = last.iter().flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}"))).collect();
            texts.extend(last.iter().cloned());
        }
        texts.extend(
            [
                "198.51.100.77:50123",
                "198.51.100.77:",
                "198.51.100.77:5x",
                "198.51.100.77",
                "::1",
                "::",
                "1::",
                "[::1]:443",
                "[::1",
                "2001:db8::1:443",
                "::ffff:1.2.3.4",
                " 10.0.0.1:80 ",
                "10.0.0.1:80:90",
                "<Redacted>:58555",
            ]
            .map(String::from),
        );
        for t in &texts {
            assert_eq!(parse_ip(t), parse_ip_plainly(t), "{t:?}");
        }
    }

    #[test]
    fn resource_ids_compare_case_insensitively() {
        let a = ResourceId::new("/subscriptions/X/resourceGroups/RG-Brazil-Temp/providers/A/b/c");
        let b = ResourceId::new("/subscriptions/x/resourcegroups/rg-brazil-temp/providers/a/b/c");
        assert_eq!(a, b);
        assert_eq!(a.segment_after("resourcegroups"), Some("RG-Brazil-Temp"));
        assert!(a.is_within(&ResourceId::new("/subscriptions/x")));
        let blob =
            ResourceId::new("/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/ProdData/blobServices/default");
        assert_eq!(
            blob.ancestor_through("storageaccounts", "proddata").map(|r| r.display),
            Some("/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/ProdData".to_string())
        );
        assert_eq!(blob.ancestor_through("virtualMachines", "proddata"), None);
    }

    #[test]
    fn regions_normalise_display_and_programmatic_forms() {
        assert_eq!(Region::new("Brazil South"), Region::new("brazilsouth"));
        assert_eq!(Region::new("brazilsouth").display_name(), "Brazil South");
    }
}

/// The kinds of attack step casefile recognises. Control files name these in `steps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// Successful risky or untrusted sign-in of a compromised identity (A1).
    SigninUntrusted,
    /// Failed sign-in attempts from attacker infrastructure.
    SigninFailed,
    /// `Microsoft.Authorization/roleAssignments/write` (A2).
    RoleAssignment,
    /// `Microsoft.Compute/virtualMachines/write` (A3).
    VmCreate,
    /// `Microsoft.Network/publicIPAddresses/write` (A4).
    PublicIpCreate,
    /// `networkSecurityGroups/securityRules/write` (A5).
    NsgRuleChange,
    /// `storageAccounts/listKeys/action` (A6).
    StorageKeyListing,
    /// ListBlobs / ListContainers with stolen credentials (T1619).
    BlobListing,
    /// GetBlob reads of data (A7, T1530).
    BlobRead,
    /// One identity touching three or more resource types within 30 minutes (A8).
    LateralMovement,
    /// Diagnostic settings deleted or changed (A9).
    LoggingTamper,
    /// Any other attacker write or action in the management plane.
    OtherWrite,
}

impl StepKind {
    pub const ALL: [StepKind; 12] = [
        StepKind::SigninUntrusted,
        StepKind::SigninFailed,
        StepKind::RoleAssignment,
        StepKind::VmCreate,
        StepKind::PublicIpCreate,
        StepKind::NsgRuleChange,
        StepKind::StorageKeyListing,
        StepKind::BlobListing,
        StepKind::BlobRead,
        StepKind::LateralMovement,
        StepKind::LoggingTamper,
        StepKind::OtherWrite,
    ];

    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            StepKind::SigninUntrusted => "Risky sign-in",
            StepKind::SigninFailed => "Failed sign-in",
            StepKind::RoleAssignment => "Role assignment",
            StepKind::VmCreate => "VM created",
            StepKind::PublicIpCreate => "Public IP created",
            StepKind::NsgRuleChange => "NSG rule changed",
            StepKind::StorageKeyListing => "Storage keys listed",
            StepKind::BlobListing => "Blobs listed",
            StepKind::BlobRead => "Blobs downloaded",
            StepKind::LateralMovement => "Lateral movement",
            StepKind::LoggingTamper => "Logging tampered",
            StepKind::OtherWrite => "Other attacker write",
        }
    }

    /// The step as an attempt, without claiming its result, for a step that did not succeed
    /// ("VM creation" + "refused by policy (…)"; never "VM created — failed").
    pub fn attempt_label(self) -> &'static str {
        match self {
            StepKind::SigninUntrusted | StepKind::SigninFailed => "Sign-in",
            StepKind::RoleAssignment => "Role assignment",
            StepKind::VmCreate => "VM creation",
            StepKind::PublicIpCreate => "Public IP creation",
            StepKind::NsgRuleChange => "NSG rule change",
            StepKind::StorageKeyListing => "Storage key listing",
            StepKind::BlobListing => "Blob listing",
            StepKind::BlobRead => "Blob download",
            StepKind::LateralMovement => "Lateral movement",
            StepKind::LoggingTamper => "Logging change",
            StepKind::OtherWrite => "Other attacker write",
        }
    }
}

/// Facts the evidence itself can establish about controls. Control files name these in
/// `missing_when` / `present_when`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fact {
    /// The attacker's successful sign-in had `ConditionalAccessStatus = notApplied`.
    SigninCaNotApplied,
    /// The attacker's successful sign-in needed a single factor only.
    SigninSingleFactor,
    /// The attacker signed in from outside the trusted countries/ranges.
    SigninUntrustedLocation,
    /// ARM accepted an attacker resource in a region outside the approved list.
    VmUnapprovedRegion,
    /// An account-key (Shared Key or key-signed SAS) data request succeeded for the attacker.
    AccountKeyDataAccess,
    /// Attacker storage requests from an untrusted public IP succeeded.
    StorageReachedFromInternet,
    /// The attacker created a role assignment: the account held an active role that may assign
    /// roles (standing or activated just in time; the write does not show which).
    RoleAssignmentByAttacker,
    /// The attacker listed a storage account's access keys through the management plane.
    StorageKeysListed,
    /// Azure Policy refused an attacker deployment.
    PolicyRefusedAttacker,
    /// A Defender for Storage alert fired.
    AlertDefenderStorage,
    /// A Defender for Resource Manager alert fired.
    AlertDefenderArm,
    /// An Entra ID Protection alert fired.
    AlertIdentityProtection,
    /// The activity log provided covers the attack window.
    ActivityLogCoversIncident,
    /// Storage resource logs provided cover the attack window.
    StorageLogsCoverIncident,
    /// Activity log records of the incident came through an export (a workspace's
    /// AzureActivity table or diagnostic-setting records), so a diagnostic setting existed.
    ActivityLogExported,
    /// The attacker's successful sign-in carried a medium or high sign-in risk and was let through.
    SigninRiskAllowed,
    /// The first alert went unanswered for over an hour: no containment action within the hour,
    /// or attacker steps still succeeding more than an hour after it.
    AttackContinuedAfterAlert,
    /// Step-scoped: the step succeeded more than an hour after the first alert, or what it left
    /// in place outlasted the hour because containment came later; a response within the hour
    /// would have cut it short.
    StepAfterAlertHour,
    /// Failed attacker sign-in attempts preceded the attacker's successful sign-in on the same
    /// account (password guessing).
    SigninPasswordGuessing,
    /// One attacker address failed to sign in to several accounts (password spray).
    SigninSprayOneSource,
    /// A workload identity (service principal or managed identity) acted for the attacker.
    WorkloadIdentityActed,
    /// A Conditional Access policy enforced MFA on other sign-ins of the bundle but did not
    /// apply to the attacker's single-factor sign-in: present, and its conditions left the
    /// attack out.
    MfaPolicyLeftOut,
}

impl Fact {
    /// The sentence a report prints for the fact.
    pub fn sentence(self) -> &'static str {
        match self {
            Fact::SigninCaNotApplied => "the attacker's sign-in shows Conditional Access \"notApplied\": no policy applied to it (none existed, or their conditions left it out)",
            Fact::SigninSingleFactor => "the attacker's sign-in was satisfied by a single factor (password only)",
            Fact::SigninUntrustedLocation => "the attacker signed in from outside the trusted countries and ranges",
            Fact::VmUnapprovedRegion => "ARM accepted an attacker resource in a region outside the approved list",
            Fact::AccountKeyDataAccess => "storage requests authorised with the account key succeeded for the attacker",
            Fact::StorageReachedFromInternet => "the attacker reached the storage account from an untrusted internet address",
            Fact::RoleAssignmentByAttacker => "the attacker created a role assignment, so the account held an active role that may assign roles (standing or activated just in time: the role write does not show which)",
            Fact::StorageKeysListed => "the attacker listed a storage account's access keys through the management plane",
            Fact::PolicyRefusedAttacker => "Azure Policy refused at least one attacker deployment",
            Fact::AlertDefenderStorage => "a Defender for Storage alert fired during the incident",
            Fact::AlertDefenderArm => "a Defender for Resource Manager alert fired during the incident",
            Fact::AlertIdentityProtection => "an Entra ID Protection alert fired during the incident",
            Fact::ActivityLogCoversIncident => "the Azure Activity log provided covers the attack window",
            Fact::StorageLogsCoverIncident => {
                "storage resource logs provided cover the attack window, so data-plane logging was on for the storage accounts they record (resource logs exist only while a diagnostic setting or Storage Analytics logging is on)"
            }
            Fact::ActivityLogExported => {
                "the Activity log records of the incident came through an export of the subscription's Activity log (a diagnostic setting); its retention is not shown"
            }
            Fact::SigninRiskAllowed => {
                "the attacker's sign-in was rated medium or high risk by Entra ID Protection and was still let through"
            }
            Fact::AttackContinuedAfterAlert => "no containment action followed the first alert within an hour",
            Fact::StepAfterAlertHour => {
                "a response within an hour of the first alert would have come before the step, or cut short what it left in place"
            }
            Fact::SigninPasswordGuessing => {
                "failed sign-in attempts by the attacker preceded its successful sign-in on the same account (password guessing)"
            }
            Fact::SigninSprayOneSource => "one attacker address failed to sign in to several accounts (password spray)",
            Fact::WorkloadIdentityActed => "a service principal (workload identity) acted for the attacker",
            Fact::MfaPolicyLeftOut => {
                "a Conditional Access policy enforced multifactor authentication on other sign-ins, but did not apply to the attacker's sign-in: its conditions left it out"
            }
        }
    }
}
