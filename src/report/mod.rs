//! The run report: exactly one entry per input row, in the portal's states
//! and messages, written as JSON (schema in `docs/report-json.md`) and CSV.
//! Hashes appear only shortened; no token or secret is ever part of it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::input::device::{Device, Pipe, RowRef};
use crate::portal::state::{DeviceMessage, RegistrationState};
use crate::transport::Stats;

mod cause;
pub mod customer;
pub mod fixes;
mod formats;
pub mod html;
mod identifier;
mod merge;
mod totals;

pub use cause::{Cause, number_causes};
pub use identifier::{IdentifierState, enrollment_text};

use totals::{NOT_SENT, NOT_SENT_INVALID, WOULD_SEND};
pub use totals::{Ordered, Totals};

pub use formats::{spreadsheet_safe, write_atomic, write_safe_record};
pub use merge::{MergeError, Place, merge};

/// What apctl did with a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Not sent: another apctl run is working on the customer (on this
    /// machine), or sent the device and may still be following it.
    AnotherRun,
}

/// The schema name of the JSON report; it changes only when a field
/// changes meaning.
pub const SCHEMA: &str = "apctl.report.v2";

/// One input row's outcome.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub file: Arc<str>,
    pub line: u64,
    pub tenant: Arc<str>,
    pub serial_number: Option<Arc<str>>,
    pub pipe: Option<Pipe>,
    /// One of the five portal states, word for word: what Microsoft's
    /// service said. `None` for a row apctl never sent (`action` is
    /// `invalid` or `not-sent`): no service has judged it.
    pub state: Option<RegistrationState>,
    /// Why a row was not sent, when the reason is shared with other rows
    /// (a customer, a file, an outage): the id of a [`Cause`] of the report.
    pub cause: Option<String>,
    /// The shared reason, until the report gives it an id.
    #[serde(skip)]
    pub why: Option<Arc<Cause>>,
    /// One of the five portal messages, word for word, or null.
    pub message: Option<DeviceMessage>,
    /// The portal's details text for the message, or apctl's explanation.
    pub details: Arc<str>,
    /// The Autopilot error code, when the service gave one.
    pub error_code: Option<String>,
    /// The Autopilot error name, when the service gave one.
    pub error_name: Option<String>,
    /// The request id of the call that decided this entry, when there is one.
    pub request_id: Option<Arc<str>>,
    pub action: Action,
    /// The device's model: from the row, or from the tenant's list once
    /// registered.
    #[serde(default)]
    pub model: Option<String>,
    /// The user the row assigns to the device.
    #[serde(default)]
    pub assigned_user: Option<String>,
    pub group_tag: Option<String>,
    pub order_id: Option<String>,
    /// The hash shortened (`T0GX…a1Q= (4000 chars)`), never whole.
    pub hardware_hash: Option<Arc<str>>,
    /// The staged identity's id, when one was created or followed.
    pub imported_identity_id: Option<Arc<str>>,
    /// The registered Autopilot device's id, once found.
    pub autopilot_device_id: Option<Arc<str>>,
    /// The Partner Center device batch the row went into (Partner Center
    /// rows only).
    pub batch_id: Option<String>,
    /// For a row whose device is registered with another group tag or
    /// assigned user than the row asks for (a Partner Center registration,
    /// or a device the tenant already held): whether apctl's update shows
    /// on the device. `not-applied` is never a silent success: the details
    /// say why, and the run counts it as a failure.
    pub group_tag_status: Option<TagStatus>,
    /// The registered device's `deploymentProfileAssignmentStatus` as the
    /// service gave it (`assignedInSync`, `notAssigned`, …): a device with
    /// no deployment profile is not guided through setup.
    #[serde(rename = "deploymentProfileAssignmentStatus", default)]
    pub profile_status: Option<String>,
    /// A row sent as a Windows corporate identifier (`pipe`
    /// `corporateIdentifiers`): added, already present or refused. Such a
    /// row has no portal `state`: it is no Autopilot device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<IdentifierState>,
    /// The identifier's `enrollmentState` as Intune gives it (`notContacted`,
    /// `enrolled`, `failed`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment_state: Option<String>,
}

/// How far a group tag (and assigned user) update has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagStatus {
    /// Sent and read back on the device.
    Applied,
    /// Sent with a success answer, not visible on the device yet: Intune
    /// shows such changes minutes later. The next run or `reconcile`
    /// checks it again and sends it once more if it is still missing.
    Pending,
    /// Could not be set; the details say why.
    NotApplied,
}

impl Entry {
    /// An entry for a row, before its outcome is known.
    pub fn for_row(source: &RowRef, tenant: &str, device: Option<&Device>, order_id: Option<&str>) -> Self {
        let hash = device.and_then(|d| match &d.identity {
            crate::input::device::Identity::HardwareHash { hash, .. } => Some(hash.shortened()),
            _ => None,
        });
        Self {
            file: source.file.clone(),
            line: source.line,
            tenant: tenant.into(),
            serial_number: device.and_then(|d| d.serial.as_deref()).map(Into::into),
            pipe: device.map(Device::pipe),
            state: Some(RegistrationState::RegistrationPending),
            cause: None,
            why: None,
            message: None,
            details: Arc::from(""),
            error_code: None,
            error_name: None,
            request_id: None,
            action: Action::NotSent,
            model: device.and_then(|d| match &d.identity {
                crate::input::device::Identity::Tuple { model, .. } => Some(model.clone()),
                _ => None,
            }),
            assigned_user: device.and_then(|d| d.assigned_user.clone()),
            group_tag: device.and_then(|d| d.group_tag.clone()),
            order_id: order_id.map(str::to_owned),
            hardware_hash: hash.map(Into::into),
            imported_identity_id: None,
            autopilot_device_id: None,
            batch_id: None,
            group_tag_status: None,
            profile_status: None,
            identifier: None,
            enrollment_state: None,
        }
    }

    /// Sets state and portal message, with the portal's details text.
    pub fn set(&mut self, state: RegistrationState, message: Option<DeviceMessage>) {
        self.state = Some(state);
        self.message = message;
        if let Some(m) = message {
            self.details = m.details(self.request_id.as_deref()).into();
        }
    }

    /// Sets the row's details to what `d` says.
    pub fn say(&mut self, d: crate::portal::details::Detail) {
        self.details = d.to_string().into();
    }

    /// Adds what `d` says after the row's details, as a sentence of its
    /// own (a full stop between, when the details lack one).
    pub fn add(&mut self, d: crate::portal::details::Detail) {
        let text = d.to_string();
        let details = self.details.trim_end();
        self.details = if details.is_empty() {
            text
        } else if details.ends_with('.') || text.starts_with('(') {
            format!("{details} {text}")
        } else {
            format!("{details}. {text}")
        }
        .into();
    }

    /// True when the device is not where it should be and will not get
    /// there by waiting.
    pub fn failed(&self) -> bool {
        self.state == Some(RegistrationState::RegistrationFailed)
            || self.identifier == Some(IdentifierState::Refused)
            || self.enrollment_state.as_deref() == Some("failed")
    }

    /// True when the service has this device still in progress.
    pub fn pending(&self) -> bool {
        self.state == Some(RegistrationState::RegistrationPending)
    }

    /// True for a row apctl did not send (invalid, or stopped by a cause);
    /// not for a `--dry-run` row that would have been sent.
    pub fn unsent(&self) -> bool {
        self.state.is_none() && self.identifier.is_none() && self.action != Action::WouldSend
    }

    /// Marks the row as not sent for a reason it shares with other rows.
    pub fn not_sent(&mut self, why: &Arc<Cause>) {
        self.action = Action::NotSent;
        self.state = None;
        self.message = None;
        self.error_code = None;
        self.error_name = None;
        self.say(crate::portal::details::Detail::NotSent {
            error: why.error.clone(),
        });
        self.why = Some(why.clone());
    }

    /// Marks the row as invalid: never sent, for reasons of its own.
    pub fn invalid(&mut self, details: String) {
        self.action = Action::Invalid;
        self.state = None;
        self.message = None;
        self.details = details.into();
    }

    /// The state as people read it; a row never sent says so.
    pub fn state_text(&self) -> String {
        if let Some(i) = self.identifier {
            return match &self.enrollment_state {
                Some(e) => format!("{} ({})", i.as_str(), enrollment_text(e)),
                None => i.as_str().to_owned(),
            };
        }
        match (self.state, self.action) {
            (Some(s), _) => s.to_string(),
            (None, Action::Invalid) => NOT_SENT_INVALID.into(),
            (None, Action::WouldSend) => WOULD_SEND.into(),
            (None, _) => NOT_SENT.into(),
        }
    }

    /// The serial as people read it: as it is when it is plain text,
    /// quoted (control characters escaped) when it has spaces or anything
    /// a terminal could misread, or `(no serial)`.
    pub fn serial_text(&self) -> String {
        match self.serial_number.as_deref() {
            None | Some("") => "(no serial)".into(),
            Some(s) if s.chars().all(|c| c.is_ascii_graphic()) => s.to_owned(),
            Some(s) => crate::input::problem::quoted(s),
        }
    }

    /// True when the device registered but its group tag could not be set.
    pub fn tag_missing(&self) -> bool {
        self.group_tag_status == Some(TagStatus::NotApplied)
    }

    /// True when a group tag update was sent but does not show yet.
    pub fn tag_pending(&self) -> bool {
        self.group_tag_status == Some(TagStatus::Pending)
    }
}

/// How the run ended, for the exit code; ordered from best to worst, so
/// the worst of several is their maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every device registered or already there (or, with `--no-wait`,
    /// accepted for registration).
    Done,
    /// Some devices were still pending at the deadline.
    SomePending,
    /// Some rows failed or were invalid.
    SomeFailed,
    /// An input file could not be read, or its header matched no dialect:
    /// none of its rows were taken.
    BadInput,
    /// apctl could not do its job for some tenant (auth, network).
    CouldNotRun,
    /// Interrupted by the user.
    Interrupted,
}

/// The whole report.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema: String,
    /// In a merged report: the run ids of the reports merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_run_ids: Vec<String>,
    /// A shard's report: its place in the sharded run (`--shard K/N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    /// A merged report of shards: the shards it holds, and the ones missing
    /// (merged with `--allow-missing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_shards: Vec<u32>,
    pub run_id: String,
    /// The partner's name, for the reports sent to customers (`--from`,
    /// or `from` in the manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// True for a run against the simulator (or any loopback service):
    /// nothing was registered with Microsoft, and the time it reports
    /// passed at the simulator's pace, not the clock's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
    pub started_at: String,
    pub finished_at: String,
    pub dry_run: bool,
    pub waited: bool,
    pub verdict: Verdict,
    /// False in a report written while the run was still going (a
    /// checkpoint): what it says is what was known then.
    pub complete: bool,
    pub totals: Totals,
    /// Every input file: how it was read, or why it could not be.
    pub files: Vec<FileReport>,
    /// Reasons rows were not sent, each once, with the rows it stopped.
    pub causes: Vec<Cause>,
    /// One section per customer: its verdict, totals and errors.
    pub tenants: Vec<TenantSection>,
    /// Tenant-level failures (auth, preflight), one line each.
    pub tenant_errors: Vec<TenantError>,
    pub entries: Vec<Entry>,
    pub http: Stats,
}

/// One customer's part of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSection {
    /// The tenant apctl worked on (an id or domain).
    pub tenant: String,
    /// The customer as the input named it (id, domain or display name).
    pub requested: String,
    /// The customer's display name, when known (from the input, GDAP or
    /// the tenant's organization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub verdict: Verdict,
    pub totals: Totals,
    pub errors: Vec<TenantError>,
    /// The Autopilot sync asked for after this run registered devices here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<crate::graph::sync::Sync>,
    /// Staged import records cleanup left (it stops at the deadline): the
    /// next run of this customer deletes them. Housekeeping only: the rows'
    /// states and the verdict do not depend on it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub staged_left: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TenantSection {
    /// How people read the customer: its name, else as the input named it.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.requested)
    }

    /// For machine outputs: the name with the tenant beside it
    /// (`Fabrikam Inc (7d4e…)`), or the tenant alone.
    pub fn named_tenant(&self) -> String {
        match &self.name {
            Some(name) if *name != self.tenant => format!("{name} ({})", self.tenant),
            _ => self.tenant.clone(),
        }
    }
}

impl Report {
    /// The customer's name for an entry's tenant, with the tenant beside
    /// it, as [`TenantSection::named_tenant`] gives it.
    pub fn named_tenant(&self, tenant: &str) -> String {
        self.tenants
            .iter()
            .find(|t| t.tenant == tenant)
            .map_or_else(|| tenant.to_owned(), TenantSection::named_tenant)
    }

    /// The customer's display name for an entry's tenant, when known.
    pub fn customer_name(&self, tenant: &str) -> Option<&str> {
        self.tenants
            .iter()
            .find(|t| t.tenant == tenant)
            .and_then(|t| t.name.as_deref())
    }
}

/// One input file as the run read it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    pub path: String,
    /// False when the file could not be read, or its header matched no
    /// dialect (`error` says which): none of its rows were taken.
    pub readable: bool,
    pub dialect: Option<crate::input::csv::dialect::Dialect>,
    /// Data rows read (blank lines not counted).
    pub rows: u64,
    pub invalid_rows: u64,
    /// Invalid rows beyond the first [`crate::input::validate::LISTED_PER_FILE`]
    /// of the file: counted here, not listed as entries.
    pub unlisted_invalid_rows: u64,
    /// Their lines, as `[first, last]` ranges.
    pub unlisted_invalid_lines: Vec<[u64; 2]>,
    /// Why the file (or the rest of it) could not be read.
    pub error: Option<String>,
    pub hint: Option<String>,
}

/// A tenant that could not be worked on.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantError {
    pub tenant: String,
    pub error: String,
    pub hint: Option<String>,
}

/// Cleans every optional text field in place.
fn clean_opt(field: &mut Option<String>) {
    if let Some(text) = field {
        clean(text);
    }
}

fn clean(field: &mut String) {
    if !crate::sanitize::is_clean_line(field) {
        *field = crate::sanitize::clean_line(field);
    }
}

/// The same for a text rows share: left shared when it is clean.
fn clean_shared(field: &mut Arc<str>) {
    if !crate::sanitize::is_clean_line(field) {
        *field = crate::sanitize::clean_line(field).into();
    }
}

impl TenantError {
    fn sanitize(&mut self) {
        clean(&mut self.tenant);
        clean(&mut self.error);
        clean_opt(&mut self.hint);
    }
}

impl Report {
    /// Passes every text of the report through the one sanitiser (see
    /// [`crate::sanitize`]): whatever a service or a file put into it, no
    /// output made from the report — the terminal, JSON, CSV, JUnit,
    /// pipeline lines, summaries — shows a secret, a whole hash or an
    /// escape sequence.
    pub fn sanitize(&mut self) {
        for e in &mut self.entries {
            clean_shared(&mut e.file);
            clean_shared(&mut e.tenant);
            clean_shared(&mut e.details);
            for f in [
                &mut e.error_code,
                &mut e.error_name,
                &mut e.group_tag,
                &mut e.order_id,
                &mut e.batch_id,
            ] {
                clean_opt(f);
            }
            for f in [
                &mut e.serial_number,
                &mut e.request_id,
                &mut e.imported_identity_id,
                &mut e.autopilot_device_id,
            ]
            .into_iter()
            .flatten()
            {
                clean_shared(f);
            }
        }
        for c in &mut self.causes {
            clean(&mut c.error);
            clean_opt(&mut c.hint);
            clean_opt(&mut c.tenant);
            clean_opt(&mut c.file);
        }
        for f in &mut self.files {
            clean(&mut f.path);
            clean_opt(&mut f.error);
            clean_opt(&mut f.hint);
        }
        self.tenant_errors.iter_mut().for_each(TenantError::sanitize);
        for t in &mut self.tenants {
            clean(&mut t.tenant);
            clean(&mut t.requested);
            t.errors.iter_mut().for_each(TenantError::sanitize);
        }
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

/// `1 device`, `2 devices`: a count and its noun (regular plurals only).
pub fn count(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}
