//! The run report: exactly one entry per input row, in the portal's states
//! and messages, written as JSON (schema in `docs/report-json.md`) and CSV.
//! Hashes appear only shortened; no token or secret is ever part of it.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::device::{Device, Pipe, RowRef};
use crate::http::Stats;
use crate::state::{DeviceMessage, RegistrationState};

/// What apctl did with a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Sent for registration in this run.
    Sent,
    /// Already registered in the tenant: nothing sent.
    AlreadyRegistered,
    /// Already staged by an earlier import: followed, not sent again.
    FollowedStaged,
    /// Not sent: the row is invalid.
    Invalid,
    /// Not sent: the tenant, its credentials or the pipe were not available,
    /// or the run was interrupted first.
    NotSent,
    /// `--dry-run`: would be sent.
    WouldSend,
}

/// One input row's outcome.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub file: String,
    pub line: u64,
    pub tenant: String,
    pub serial_number: Option<String>,
    pub pipe: Option<Pipe>,
    /// One of the five portal states, word for word.
    pub state: RegistrationState,
    /// One of the five portal messages, word for word, or null.
    pub message: Option<DeviceMessage>,
    /// The portal's details text for the message, or apctl's explanation.
    pub details: String,
    /// The Autopilot error code, when the service gave one.
    pub error_code: Option<String>,
    /// The Autopilot error name, when the service gave one.
    pub error_name: Option<String>,
    /// The request id of the call that decided this entry, when there is one.
    pub request_id: Option<String>,
    pub action: Action,
    pub group_tag: Option<String>,
    pub order_id: Option<String>,
    /// The hash shortened (`T0GX…a1Q= (4000 chars)`), never whole.
    pub hardware_hash: Option<String>,
    /// The staged identity's id, when one was created or followed.
    pub imported_identity_id: Option<String>,
    /// The registered Autopilot device's id, once found.
    pub autopilot_device_id: Option<String>,
    /// The Partner Center device batch the row went into (Partner Center
    /// rows only).
    pub batch_id: Option<String>,
    /// For a Partner Center row with a group tag: whether the tag was set
    /// and verified through Graph. `false` is never a silent success: the
    /// details say why, and the run counts it as a failure.
    pub group_tag_applied: Option<bool>,
}

impl Entry {
    /// An entry for a row, before its outcome is known.
    pub fn for_row(source: &RowRef, tenant: &str, device: Option<&Device>, order_id: Option<&str>) -> Self {
        let hash = device.and_then(|d| match &d.identity {
            crate::device::Identity::HardwareHash { hash, .. } => Some(hash.shortened()),
            _ => None,
        });
        Self {
            file: source.file.to_string(),
            line: source.line,
            tenant: tenant.to_owned(),
            serial_number: device.and_then(|d| d.serial.clone()),
            pipe: device.map(Device::pipe),
            state: RegistrationState::RegistrationPending,
            message: None,
            details: String::new(),
            error_code: None,
            error_name: None,
            request_id: None,
            action: Action::NotSent,
            group_tag: device.and_then(|d| d.group_tag.clone()),
            order_id: order_id.map(str::to_owned),
            hardware_hash: hash,
            imported_identity_id: None,
            autopilot_device_id: None,
            batch_id: None,
            group_tag_applied: None,
        }
    }

    /// Sets state and portal message, with the portal's details text.
    pub fn set(&mut self, state: RegistrationState, message: Option<DeviceMessage>) {
        self.state = state;
        self.message = message;
        if let Some(m) = message {
            self.details = m.details(self.request_id.as_deref());
        }
    }

    /// True when the device is not where it should be and will not get
    /// there by waiting.
    pub fn failed(&self) -> bool {
        self.state == RegistrationState::RegistrationFailed
    }

    /// Marks the row as not sent, saying why.
    pub fn not_sent(&mut self, why: &str) {
        self.action = Action::NotSent;
        self.state = RegistrationState::RegistrationFailed;
        self.message = None;
        self.details = why.to_owned();
    }

    /// The serial as people read it: quoted, or `(no serial)`.
    pub fn serial_text(&self) -> String {
        self.serial_number
            .as_deref()
            .map(crate::problem::quoted)
            .unwrap_or_else(|| "(no serial)".into())
    }

    /// True when the device registered but its group tag could not be set.
    pub fn tag_missing(&self) -> bool {
        self.group_tag_applied == Some(false)
    }
}

/// Counts by state and by message.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub rows: u64,
    /// Every state, in the portal's order, with its count.
    pub by_state: Ordered,
    /// The messages that occurred, in the portal's order.
    pub by_message: Ordered,
    /// Partner Center rows registered whose group tag could not be set.
    pub group_tags_not_applied: u64,
}

impl Totals {
    /// Counts the entries.
    pub fn of(entries: &[Entry]) -> Self {
        let count_state = |s: RegistrationState| entries.iter().filter(|e| e.state == s).count() as u64;
        let count_message = |m: DeviceMessage| entries.iter().filter(|e| e.message == Some(m)).count() as u64;
        let by_state = RegistrationState::ALL
            .iter()
            .map(|s| (s.to_string(), count_state(*s)))
            .collect();
        let by_message = DeviceMessage::ALL
            .iter()
            .map(|m| (m.to_string(), count_message(*m)))
            .filter(|(_, n)| *n > 0)
            .collect();
        Self {
            rows: entries.len() as u64,
            by_state: Ordered(by_state),
            by_message: Ordered(by_message),
            group_tags_not_applied: entries.iter().filter(|e| e.tag_missing()).count() as u64,
        }
    }
}

/// Name → count pairs that serialise as a JSON object in their own order.
#[derive(Clone, Debug, Default)]
pub struct Ordered(pub Vec<(String, u64)>);

impl Ordered {
    /// The count for a name (0 when absent).
    pub fn get(&self, name: &str) -> u64 {
        self.0.iter().find(|(n, _)| n == name).map_or(0, |(_, c)| *c)
    }
}

impl Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// How the run ended, for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every device registered or already there (or, with `--no-wait`,
    /// accepted for registration).
    Done,
    /// Some rows failed or were invalid.
    SomeFailed,
    /// Some devices were still pending at the deadline.
    SomePending,
    /// apctl could not do its job for some tenant (auth, network).
    CouldNotRun,
    /// Interrupted by the user.
    Interrupted,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema: &'static str,
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub dry_run: bool,
    pub waited: bool,
    pub verdict: Verdict,
    pub totals: Totals,
    /// One section per customer: its verdict, totals and errors.
    pub tenants: Vec<TenantSection>,
    /// Tenant-level failures (auth, preflight), one line each.
    pub tenant_errors: Vec<TenantError>,
    pub entries: Vec<Entry>,
    pub http: Stats,
}

/// Text safe in XML content and attributes.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One customer's part of a run.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSection {
    /// The tenant apctl worked on (an id or domain).
    pub tenant: String,
    /// The customer as the input named it (id, domain or display name).
    pub requested: String,
    pub verdict: Verdict,
    pub totals: Totals,
    pub errors: Vec<TenantError>,
}

/// A tenant that could not be worked on.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantError {
    pub tenant: String,
    pub error: String,
    pub hint: Option<String>,
}

impl Report {
    /// Writes the JSON report.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        serde_json::to_writer_pretty(&mut f, self)?;
        f.write_all(b"\n")?;
        f.flush()
    }

    /// Writes JUnit XML: a test suite per customer, a test case per
    /// device; a failed device is a failure with the portal's message and
    /// details, a pending one is skipped.
    pub fn write_junit(&self, path: &Path) -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        f.write_all(self.junit().as_bytes())?;
        f.flush()
    }

    /// The JUnit XML text.
    pub fn junit(&self) -> String {
        use std::fmt::Write as _;
        let failed = |e: &Entry| e.failed() || e.tag_missing();
        let pending = |e: &Entry| e.state == RegistrationState::RegistrationPending;
        let mut tenants: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !tenants.contains(&e.tenant.as_str()) {
                tenants.push(&e.tenant);
            }
        }
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            x,
            "<testsuites name=\"apctl import\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
            self.entries.len(),
            self.entries.iter().filter(|e| failed(e)).count(),
            self.entries.iter().filter(|e| pending(e)).count()
        );
        for tenant in tenants {
            let mine: Vec<&Entry> = self.entries.iter().filter(|e| e.tenant == tenant).collect();
            let _ = writeln!(
                x,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
                xml(if tenant.is_empty() {
                    "(no customer)"
                } else {
                    tenant
                }),
                mine.len(),
                mine.iter().filter(|e| failed(e)).count(),
                mine.iter().filter(|e| pending(e)).count()
            );
            for e in mine {
                let serial = e.serial_number.as_deref().unwrap_or("(no serial)");
                let _ = write!(
                    x,
                    "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\"",
                    xml(if tenant.is_empty() { "apctl" } else { tenant }),
                    xml(&format!("{serial} ({}:{})", e.file, e.line)),
                    xml(&e.file),
                    e.line
                );
                if failed(e) {
                    let message = e.message.map_or_else(|| e.state.to_string(), |m| m.to_string());
                    let _ = writeln!(
                        x,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        xml(&message),
                        xml(&e.state.to_string()),
                        xml(&e.details)
                    );
                } else if pending(e) {
                    let _ = writeln!(
                        x,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(&format!("Registration pending: {}", e.details))
                    );
                } else {
                    let _ = writeln!(x, "/>");
                }
            }
            x.push_str("  </testsuite>\n");
        }
        x.push_str("</testsuites>\n");
        x
    }

    /// Writes the CSV report: one line per entry.
    pub fn write_csv(&self, path: &Path) -> std::io::Result<()> {
        let mut w = csv::Writer::from_path(path)?;
        w.write_record([
            "file",
            "line",
            "tenant",
            "serialNumber",
            "pipe",
            "state",
            "message",
            "details",
            "errorCode",
            "errorName",
            "requestId",
            "action",
            "groupTag",
            "orderId",
            "batchId",
            "groupTagApplied",
        ])?;
        for e in &self.entries {
            let json = |v: &dyn erased::Json| v.text();
            w.write_record([
                e.file.clone(),
                e.line.to_string(),
                e.tenant.clone(),
                e.serial_number.clone().unwrap_or_default(),
                e.pipe.map(|p| json(&p)).unwrap_or_default(),
                e.state.to_string(),
                e.message.map(|m| m.to_string()).unwrap_or_default(),
                e.details.clone(),
                e.error_code.clone().unwrap_or_default(),
                e.error_name.clone().unwrap_or_default(),
                e.request_id.clone().unwrap_or_default(),
                json(&e.action),
                e.group_tag.clone().unwrap_or_default(),
                e.order_id.clone().unwrap_or_default(),
                e.batch_id.clone().unwrap_or_default(),
                e.group_tag_applied.map(|b| b.to_string()).unwrap_or_default(),
            ])?;
        }
        w.flush()
    }
}

mod erased {
    /// A serde value written as its bare JSON string.
    pub trait Json {
        fn text(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn text(&self) -> String {
            serde_json::to_value(self)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        }
    }
}

/// The verdicts from worst to best, for merging.
const VERDICTS: [&str; 5] = [
    "interrupted",
    "could-not-run",
    "some-failed",
    "some-pending",
    "done",
];

/// Merges the JSON reports of the jobs of one sharded run into one report:
/// entries, customer sections and errors side by side, totals counted
/// again, HTTP figures added up, and the worst verdict. A customer found in
/// two reports is an error (the same shard ran twice, or two runs are mixed).
pub fn merge(reports: &[(String, serde_json::Value)]) -> Result<serde_json::Value, String> {
    use serde_json::{Map, Value, json};
    let mut entries = Vec::new();
    let mut tenants = Vec::new();
    let mut errors = Vec::new();
    let mut run_ids = Vec::new();
    let mut owner: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut requests: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let (mut throttled, mut retries, mut retry_after_ms) = (0u64, 0u64, 0u64);
    let (mut started, mut finished): (Option<String>, Option<String>) = (None, None);
    let (mut dry_run, mut waited) = (false, true);
    let mut worst = VERDICTS.len() - 1;
    for (name, r) in reports {
        if r["schema"] != "apctl.report.v1" {
            return Err(format!(
                "{name}: not an apctl import report (schema `{}`)",
                r["schema"]
            ));
        }
        for t in r["tenants"].as_array().into_iter().flatten() {
            let tenant = t["tenant"].as_str().unwrap_or("").to_lowercase();
            if let Some(other) = owner.insert(tenant.clone(), name.clone()) {
                return Err(format!(
                    "customer `{tenant}` is in both {other} and {name}: merge the reports of one run's shards, each once"
                ));
            }
            tenants.push(t.clone());
        }
        entries.extend(r["entries"].as_array().into_iter().flatten().cloned());
        errors.extend(r["tenantErrors"].as_array().into_iter().flatten().cloned());
        run_ids.push(r["runId"].clone());
        let s = r["startedAt"].as_str().map(str::to_owned);
        if started.is_none() || s < started {
            started = s;
        }
        let f = r["finishedAt"].as_str().map(str::to_owned);
        if f > finished {
            finished = f;
        }
        dry_run |= r["dryRun"].as_bool().unwrap_or(false);
        waited &= r["waited"].as_bool().unwrap_or(true);
        let rank = VERDICTS
            .iter()
            .position(|v| r["verdict"] == *v)
            .ok_or_else(|| format!("{name}: unknown verdict {}", r["verdict"]))?;
        worst = worst.min(rank);
        let http = &r["http"];
        for (kind, n) in http["requests"].as_object().into_iter().flatten() {
            *requests.entry(kind.clone()).or_default() += n.as_u64().unwrap_or(0);
        }
        throttled += http["throttled"].as_u64().unwrap_or(0);
        retries += http["retries"].as_u64().unwrap_or(0);
        retry_after_ms += http["retryAfterMs"].as_u64().unwrap_or(0);
    }
    let count = |key: &str, value: &str| entries.iter().filter(|e| e[key] == value).count() as u64;
    let mut by_state = Map::new();
    for s in RegistrationState::ALL {
        by_state.insert(s.to_string(), json!(count("state", &s.to_string())));
    }
    let mut by_message = Map::new();
    for m in DeviceMessage::ALL {
        let n = count("message", &m.to_string());
        if n > 0 {
            by_message.insert(m.to_string(), json!(n));
        }
    }
    let tags_missing = entries.iter().filter(|e| e["groupTagApplied"] == false).count();
    Ok(json!({
        "schema": "apctl.report.v1",
        "runId": run_ids.first().cloned().unwrap_or(Value::Null),
        "mergedRunIds": run_ids,
        "startedAt": started,
        "finishedAt": finished,
        "dryRun": dry_run,
        "waited": waited,
        "verdict": VERDICTS[worst],
        "totals": {"rows": entries.len(), "byState": by_state, "byMessage": by_message, "groupTagsNotApplied": tags_missing},
        "tenants": tenants,
        "tenantErrors": errors,
        "entries": entries,
        "http": {"requests": requests, "throttled": throttled, "retries": retries, "retryAfterMs": retry_after_ms}
    }))
}
