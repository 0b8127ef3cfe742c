//! The plan of a run, before anything is sent: every file read and
//! checked, every row given its customer (its `Tenant` cell, else its
//! file's customer from the manifest or `--tenant`) and its pipe, the
//! invalid rows' entries, and the shard a customer belongs to.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::import::{CustomerSettings, ImportSettings, RunSettings};
use crate::input::device::{Device, Pipe, RowRef};
use crate::input::problem::{Problem, Severity};
use crate::input::validate::{self, Checked, ValidateOptions};
use crate::report::{Cause, Entry, FileReport};

/// One input file and what the run says about its rows.
#[derive(Clone, Debug, Default)]
pub struct Input {
    pub file: PathBuf,
    /// The customer of every row without a `Tenant` cell.
    pub tenant: Option<String>,
    /// Group tag for rows without one (a manifest entry's).
    pub group_tag: Option<String>,
    /// Order id of the rows' customer (a manifest entry's).
    pub order_id: Option<String>,
    /// Only these lines of the file (a retry of a report's failed rows);
    /// `None` takes every row.
    pub lines: Option<std::collections::HashSet<u64>>,
}

impl Input {
    /// A file whose rows all go to `tenant` unless they name another.
    pub fn for_tenant(file: &Path, tenant: Option<&str>) -> Self {
        Self {
            file: file.to_path_buf(),
            tenant: tenant.map(str::to_owned),
            ..Self::default()
        }
    }
}

/// The rows of one customer.
#[derive(Clone, Debug, Default)]
pub struct TenantRows {
    /// The customer as first written (id, domain or name).
    pub tenant: String,
    pub graph: Vec<Device>,
    pub partner_center: Vec<Device>,
    /// The order id its input named, if any.
    pub order_id: Option<String>,
}

/// What the files hold, by customer, before anything is sent.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub files: Vec<PathBuf>,
    /// Customers in the order they first appear.
    pub tenants: Vec<TenantRows>,
    /// Entries of rows that will not be sent (invalid, or no customer).
    pub entries: Vec<Entry>,
    /// Every input file: how it was read, or why it could not be.
    pub file_reports: Vec<FileReport>,
}

impl Plan {
    /// True when any file could not be read or any row is invalid: a plan
    /// that does not say everything the input meant. Nothing destructive
    /// may act on it.
    pub fn has_input_errors(&self) -> bool {
        !self.input_errors().is_empty()
    }

    /// One line per input problem that makes [`Plan::has_input_errors`]
    /// true: the file, and how many rows or why.
    pub fn input_errors(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.file_reports {
            if let Some(error) = &f.error {
                out.push(format!("{}: {error}", f.path));
            } else if !f.readable {
                out.push(format!("{}: could not be read", f.path));
            }
            if f.invalid_rows > 0 {
                out.push(format!(
                    "{}: {} invalid row{}",
                    f.path,
                    f.invalid_rows,
                    if f.invalid_rows == 1 { "" } else { "s" }
                ));
            }
        }
        out
    }
}

/// A customer's key: case and surrounding space do not make two customers.
pub(crate) fn key(tenant: &str) -> String {
    tenant.trim().to_lowercase()
}

/// Invalid rows of one file: listed as entries up to
/// [`validate::LISTED_PER_FILE`], then counted with their lines as ranges.
#[derive(Default)]
struct InvalidRows {
    listed: usize,
    unlisted: u64,
    lines: Vec<[u64; 2]>,
}

impl InvalidRows {
    /// True when the row is to be listed; otherwise counts it.
    fn list(&mut self, line: u64) -> bool {
        if self.listed < validate::LISTED_PER_FILE {
            self.listed += 1;
            return true;
        }
        self.unlisted += 1;
        match self.lines.last_mut() {
            Some(range) if range[1] + 1 == line => range[1] = line,
            _ => self.lines.push([line, line]),
        }
        false
    }
}

/// What a row's own problems say, for its entry: each error with its
/// column.
fn invalid_details(problems: &[Problem]) -> String {
    let mut out = String::from("Not sent:");
    for p in problems.iter().filter(|p| p.severity == Severity::Error) {
        let portal = p.portal_message.map(|m| format!("{m}: ")).unwrap_or_default();
        let column = p.column.map_or(String::new(), |c| format!(" (column {c})"));
        out.push_str(&format!(" {portal}{}{column}.", p.message));
    }
    out
}

/// Reads and checks every input and sorts its rows by customer.
pub fn plan(inputs: &[Input], order_id: Option<&str>) -> Plan {
    let files: Vec<PathBuf> = inputs.iter().map(|i| i.file.clone()).collect();
    let mut planner = Planner {
        by_file: inputs.iter().map(|i| (i.file.display().to_string(), i)).collect(),
        order_id,
        tenants: Vec::new(),
        index: HashMap::new(),
        entries: Vec::new(),
        invalid: HashMap::new(),
        no_customer: HashMap::new(),
        hashes: crate::input::spill::HashStore::new().ok().map(Arc::new),
    };
    let options = ValidateOptions {
        strict: false,
        order_id: order_id.map(str::to_owned),
    };
    let validation = validate::validate(&files, &options, |row| match row {
        Checked::Valid(d) if planner.wanted(&d.source) => planner.valid(d),
        Checked::Invalid {
            source,
            serial,
            problems,
        } if planner.wanted(source) => planner.invalid(source, serial, problems),
        _ => {}
    });
    let file_reports = validation
        .files
        .iter()
        .map(|f| planner.file_report(f, &validation.problems))
        .collect();
    Plan {
        files,
        tenants: planner.tenants,
        entries: planner.entries,
        file_reports,
    }
}

/// The plan as the rows come.
struct Planner<'a> {
    by_file: HashMap<String, &'a Input>,
    order_id: Option<&'a str>,
    tenants: Vec<TenantRows>,
    /// Customer key → index into `tenants`.
    index: HashMap<String, usize>,
    entries: Vec<Entry>,
    invalid: HashMap<String, InvalidRows>,
    /// Per file: the cause of its rows that name no customer.
    no_customer: HashMap<String, Arc<Cause>>,
    /// Where the hashes of the rows to send wait for their turn (memory
    /// stays flat in the number of devices); `None` keeps them in memory.
    hashes: Option<Arc<crate::input::spill::HashStore>>,
}

impl Planner<'_> {
    /// False for a row its input leaves out (`--retry-failed`).
    fn wanted(&self, source: &RowRef) -> bool {
        self.by_file
            .get(source.file.as_ref())
            .and_then(|i| i.lines.as_ref())
            .is_none_or(|lines| lines.contains(&source.line))
    }

    /// A valid row goes to its customer's pipe, with its file's defaults.
    fn valid(&mut self, d: &Device) {
        let input = self.by_file.get(d.source.file.as_ref()).copied();
        let Some(tenant) = d.tenant.clone().or_else(|| input.and_then(|i| i.tenant.clone())) else {
            let mut e = Entry::for_row(&d.source, "", Some(d), self.order_id);
            let why = self
                .no_customer
                .entry(d.source.file.to_string())
                .or_insert_with(|| {
                    Cause::run(
                        Some(&d.source.file),
                        "no customer is named for these rows",
                        Some("add a `Tenant` column, list the file in a manifest, or give `--tenant`"),
                    )
                });
            e.not_sent(why);
            self.entries.push(e);
            return;
        };
        let i = *self.index.entry(key(&tenant)).or_insert_with(|| {
            self.tenants.push(TenantRows {
                tenant: tenant.trim().to_owned(),
                ..TenantRows::default()
            });
            self.tenants.len() - 1
        });
        let rows = &mut self.tenants[i];
        let mut device = d.clone();
        if let (crate::input::device::Identity::HardwareHash { hash, .. }, Some(store)) =
            (&mut device.identity, &self.hashes)
        {
            hash.spill(store);
        }
        if device.group_tag.is_none() {
            device.group_tag = input.and_then(|i| i.group_tag.clone());
        }
        if rows.order_id.is_none() {
            rows.order_id = input.and_then(|i| i.order_id.clone());
        }
        match d.pipe() {
            Pipe::Graph => rows.graph.push(device),
            Pipe::PartnerCenter | Pipe::CorporateIdentifiers => rows.partner_center.push(device),
        }
    }

    /// An invalid row is an entry (up to the listing limit per file).
    fn invalid(&mut self, source: &RowRef, serial: Option<&str>, problems: &[Problem]) {
        if !self
            .invalid
            .entry(source.file.to_string())
            .or_default()
            .list(source.line)
        {
            return;
        }
        let tenant = self
            .by_file
            .get(source.file.as_ref())
            .and_then(|i| i.tenant.clone())
            .unwrap_or_default();
        let mut e = Entry::for_row(source, &tenant, None, self.order_id);
        e.serial_number = serial.map(Into::into);
        e.invalid(invalid_details(problems));
        self.entries.push(e);
    }

    /// How a file was read, or why it could not be.
    fn file_report(&mut self, f: &validate::FileSummary, problems: &[Problem]) -> FileReport {
        let failure = problems.iter().find(|p| p.is_file_level() && *p.file == f.path);
        let rows = self.invalid.remove(&f.path).unwrap_or_default();
        FileReport {
            path: f.path.clone(),
            readable: f.readable && failure.is_none(),
            dialect: f.dialect,
            rows: f.rows,
            invalid_rows: f.invalid_rows,
            unlisted_invalid_rows: rows.unlisted,
            unlisted_invalid_lines: rows.lines,
            error: failure.map(|p| match p.line {
                Some(line) => format!("line {line}: {}", p.message),
                None => p.message.clone(),
            }),
            hint: failure.and_then(|p| p.hint.clone()),
        }
    }
}

/// Which shards read each input file (by its name as the rows cite it):
/// those of the customers it is given for (a manifest entry, `--tenant`),
/// or every shard (`None`) for a file whose rows name their customers.
pub type Readers = HashMap<String, Option<std::collections::BTreeSet<u32>>>;

/// The readers of every input of a run split into `n` shards.
pub fn readers(inputs: &[Input], n: u32) -> Readers {
    let mut readers: Readers = HashMap::new();
    for i in inputs {
        let slot = readers
            .entry(i.file.display().to_string())
            .or_insert_with(|| Some(Default::default()));
        match (&i.tenant, slot) {
            (Some(t), Some(shards)) => {
                shards.insert(shard_of(t, n));
            }
            (None, slot) => *slot = None,
            (Some(_), None) => {}
        }
    }
    readers
}

/// The inputs shard `k` of `n` reads: a file given for a customer is read
/// only by that customer's shard; a file whose rows name their customers
/// by every shard, each for its own rows.
pub fn inputs_of_shard(inputs: &mut Vec<Input>, k: u32, n: u32) {
    inputs.retain(|i| i.tenant.as_deref().is_none_or(|t| shard_of(t, n) == k));
}

impl Plan {
    /// Keeps the customers of shard `k` of `n` (1-based): a stable choice
    /// by the customer's name, so every job of a matrix takes its own share
    /// and together they take every customer once. A shard is judged on
    /// its own rows: a file every shard reads counts only this shard's
    /// invalid rows (rows that name no customer, and a file nobody could
    /// read, are shard 1's). A row whose `Tenant` cell names a customer
    /// whose shard does not read the file is not lost: the first shard
    /// that reads it reports it as not sent, with the fix.
    pub fn keep_shard(&mut self, k: u32, n: u32, readers: &Readers) {
        let mine = |tenant: &str| shard_of(tenant, n) == k;
        self.entries.retain(|e| {
            if e.tenant.is_empty() {
                k == 1
            } else {
                mine(&e.tenant)
            }
        });
        let mut stranded: HashMap<(String, String), Arc<Cause>> = HashMap::new();
        for t in std::mem::take(&mut self.tenants) {
            if mine(&t.tenant) {
                self.tenants.push(t);
                continue;
            }
            let theirs = shard_of(&t.tenant, n);
            for d in t.graph.iter().chain(&t.partner_center) {
                let file = d.source.file.to_string();
                let Some(Some(shards)) = readers.get(&file) else {
                    continue;
                };
                if shards.contains(&theirs) || shards.first() != Some(&k) {
                    continue;
                }
                let why = stranded.entry((file.clone(), key(&t.tenant))).or_insert_with(|| {
                    Cause::run(
                        Some(&file),
                        &format!(
                            "these rows name customer `{}`, whose shard ({theirs}/{n}) does not read this file",
                            t.tenant
                        ),
                        Some("list the file under that customer in the manifest too, or move its rows to a file of its own"),
                    )
                });
                let mut e = Entry::for_row(&d.source, &t.tenant, Some(d), t.order_id.as_deref());
                e.not_sent(why);
                self.entries.push(e);
            }
        }
        let mut invalid: HashMap<String, u64> = HashMap::new();
        for e in self
            .entries
            .iter()
            .filter(|e| e.action == crate::report::Action::Invalid)
        {
            *invalid.entry(e.file.to_string()).or_default() += 1;
        }
        self.file_reports.retain_mut(|f| {
            if !matches!(readers.get(&f.path), Some(None)) {
                return true;
            }
            if k != 1 {
                if !f.readable {
                    return false;
                }
                f.unlisted_invalid_rows = 0;
                f.unlisted_invalid_lines.clear();
            }
            f.invalid_rows = invalid.get(&f.path).copied().unwrap_or(0) + f.unlisted_invalid_rows;
            true
        });
    }

    /// True when the plan holds nothing: no customer and no row.
    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty() && self.entries.is_empty()
    }
}

/// The 1-based shard of a customer among `n` (FNV-1a of its key: the same
/// on every machine and every release).
pub fn shard_of(tenant: &str, n: u32) -> u32 {
    let h = crate::graph::fnv1a(&key(tenant));
    (h % u64::from(n.max(1))) as u32 + 1
}

/// One customer's work: its settings and its rows.
pub struct Job {
    pub customer: CustomerSettings,
    pub rows: TenantRows,
}

impl Job {
    /// The job's customer within the run.
    pub fn settings(&self, run: &Arc<RunSettings>) -> ImportSettings {
        ImportSettings {
            run: run.clone(),
            customer: self.customer.clone(),
        }
    }
}
