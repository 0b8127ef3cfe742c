//! The manifest: which customer gets which files, with their group tags
//! and order ids, for a run over many customers.
//!
//! ```toml
//! from = "Northwind Traders"       # the partner's name on customer reports
//! group_tag = "Autopilot"          # optional defaults for every customer
//!
//! [[customer]]
//! tenant = "contoso.onmicrosoft.com"
//! files = ["contoso/batch-1.csv", "contoso/batch-2.csv"]   # relative to the manifest
//! group_tag = "Sales"
//! order_id = "PO-4711"
//! ```

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

use apctl::import::plan::{Input, Plan};

/// Where the devices and their customers come from: files (rows name their
/// customer in a `Tenant` column, or take `--tenant`), a manifest, or both.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// CSV files of devices (any dialect and encoding `apctl validate` reads).
    #[arg(value_name = "FILE", required_unless_present_any = ["manifest", "retry_failed"])]
    pub files: Vec<std::path::PathBuf>,
    /// The customer of the files' rows that have no `Tenant` cell: tenant
    /// id, verified domain, or GDAP display name.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// A TOML manifest mapping customers to files, group tags and order ids
    /// (see the README).
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<std::path::PathBuf>,
    /// Run again the rows an earlier JSON report lists as failed or not
    /// sent. Exactly those rows (`--report` wrote the report), read again
    /// from their files (fixed or not), each for the customer it had.
    #[arg(long, value_name = "REPORT", conflicts_with_all = ["files", "manifest"])]
    pub retry_failed: Option<std::path::PathBuf>,
}

impl InputArgs {
    /// Reads and checks every input and sorts the rows by customer; an
    /// error when no row names a customer.
    /// With `shard` (K of N), only the files of that shard's customers are
    /// read, and only its rows kept.
    pub fn plan(&self, order_id: Option<&str>, shard: Option<(u32, u32)>) -> anyhow::Result<Plan> {
        let tenant = self
            .tenant
            .as_deref()
            .map(super::settings::check_tenant_text)
            .transpose()?;
        let mut inputs = match (&self.manifest, &self.retry_failed) {
            (Some(m), _) => read(m)?,
            (None, Some(r)) => retry_inputs(r, tenant.as_deref())?,
            (None, None) => Vec::new(),
        };
        inputs.extend(self.files.iter().map(|f| Input::for_tenant(f, tenant.as_deref())));
        // Who reads each file is known from every input, before this
        // shard drops the inputs of the others.
        let shard = shard.map(|(k, n)| {
            let readers = apctl::import::plan::readers(&inputs, n);
            apctl::import::plan::inputs_of_shard(&mut inputs, k, n);
            (k, n, readers)
        });
        // One rule for every file given: any that is not there (or is a
        // folder) stops the run before anything is sent, all named at once.
        // A file that is there but cannot be taken (its header, its
        // dialect) is reported, and the other files go on.
        check_present(&inputs, self.manifest.as_deref())?;
        let mut plan = apctl::import::plan::plan(&inputs, order_id);
        // A header with nothing under it imports nothing: said, not "done".
        for f in plan.file_reports.iter().filter(|f| f.readable && f.rows == 0) {
            let p = apctl::input::csv::header_only(&std::sync::Arc::from(f.path.as_str()));
            crate::cli::term::err_line(&format!("warning: {}: {}", f.path, p.message));
            if let Some(hint) = &p.hint {
                crate::cli::term::err_line(&format!("  hint: {hint}"));
            }
        }
        if plan.tenants.is_empty()
            && tenant.is_none()
            && self.manifest.is_none()
            && self.retry_failed.is_none()
            && !plan.entries.is_empty()
        {
            return Err(crate::cli::hinted!(
                "give `--tenant`, add a `Tenant` column, or list the files in a `--manifest`",
                "no customer is named for any row"
            ));
        }
        if let Some((k, n, readers)) = shard {
            plan.keep_shard(k, n, &readers);
            if plan.is_empty() {
                crate::cli::term::err_line(&format!("note: shard {k}/{n} has no customers"));
            }
        }
        Ok(plan)
    }
}

/// Every input file that is missing or a folder, in one error.
fn check_present(inputs: &[Input], manifest: Option<&Path>) -> anyhow::Result<()> {
    let mut seen = HashSet::new();
    let mut wrong = Vec::new();
    let mut folders = false;
    for input in inputs.iter().filter(|i| seen.insert(i.file.clone())) {
        let why = match std::fs::metadata(&input.file) {
            Ok(m) if m.is_dir() => {
                folders = true;
                "a folder, not a file"
            }
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "no such file",
            Err(_) => "cannot be opened",
        };
        // A manifest's file is named with its customer.
        let customer = match (manifest, &input.tenant) {
            (Some(_), Some(t)) => format!(" (customer {t})"),
            _ => String::new(),
        };
        wrong.push(format!("`{}`{customer}: {why}", input.file.display()));
    }
    if wrong.is_empty() {
        return Ok(());
    }
    let mut hint = String::from("check the paths; nothing was sent");
    if manifest.is_some() {
        hint.push_str(" (a manifest's file paths are relative to the manifest)");
    }
    if folders {
        hint.push_str("; for a folder, give the CSV files in it (`folder/*.csv`)");
    }
    Err(crate::cli::hinted!(
        hint,
        "{} of the input files cannot be read: {}",
        wrong.len(),
        wrong.join("; ")
    ))
}

/// The inputs of a retry: per file of the report, the lines it lists as
/// failed or not sent, for the customer each had (`--tenant` wins).
fn retry_inputs(path: &Path, tenant: Option<&str>) -> anyhow::Result<Vec<Input>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the report `{}`", path.display()))?;
    let report: apctl::report::Report = serde_json::from_str(&text).map_err(|e| {
        crate::cli::hinted!(
            "give the JSON report an earlier `apctl import --report` wrote",
            "`{}` is not an apctl import report: {e}",
            path.display()
        )
    })?;
    let mut inputs: Vec<Input> = Vec::new();
    for e in report.entries.iter().filter(|e| e.failed() || e.unsent()) {
        let file = std::path::PathBuf::from(&*e.file);
        if !file.is_file() {
            bail!(
                "{}: the report's row {}:{} names a file that is not here (run from the folder the report was written in)",
                path.display(),
                e.file,
                e.line
            );
        }
        let customer = tenant
            .map(str::to_owned)
            .or_else(|| Some(e.tenant.to_string()).filter(|t| !t.is_empty()));
        match inputs.iter_mut().find(|i| i.file == file) {
            Some(input) => {
                input.lines.get_or_insert_with(Default::default).insert(e.line);
                // Rows of one file for several customers name theirs in a
                // `Tenant` column, which the file still has.
                if input.tenant != customer {
                    input.tenant = None;
                }
            }
            None => inputs.push(Input {
                file,
                tenant: customer,
                group_tag: None,
                order_id: e.order_id.clone(),
                lines: Some([e.line].into_iter().collect()),
            }),
        }
    }
    if inputs.is_empty() {
        // A clean night's report: the retry is a clean run, not an error
        // that turns the pipeline red (issue #27).
        crate::cli::term::err_line(&format!(
            "note: {}: no row failed or was left unsent: nothing to retry",
            path.display()
        ));
    }
    Ok(inputs)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// The partner's name on the reports sent to customers.
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    group_tag: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    customer: Vec<Customer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Customer {
    tenant: String,
    files: Vec<String>,
    #[serde(default)]
    group_tag: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
    /// `corporate-identifiers`: Manufacturer+Model+Serial rows become
    /// Windows corporate identifiers; the default is Autopilot registration.
    #[serde(default)]
    route: Option<String>,
    /// Confirms the tenant's first corporate identifiers (every other
    /// Windows device that enrolls there is then marked personal).
    #[serde(default)]
    mark_others_personal: bool,
}

/// What a manifest says beside its customers' files, read in one pass:
/// the partner's name (`from`) for the reports sent to customers, the
/// customers on the corporate-identifier route, each with whether its first
/// upload is confirmed, and the text's digest. An unknown route is an
/// error.
#[derive(Debug, Default)]
pub struct Extras {
    pub from: Option<String>,
    pub corporate: Vec<super::commands::corporate::ManifestRoute>,
    /// A digest of the manifest's text: a shard's report names the
    /// manifest it read by it, so a merge knows its shards belong together.
    pub digest: Option<String>,
}

impl InputArgs {
    /// The manifest's [`Extras`]; none without a manifest.
    pub fn extras(&self) -> anyhow::Result<Extras> {
        match &self.manifest {
            Some(path) => extras(path),
            None => Ok(Extras::default()),
        }
    }
}

fn extras(path: &Path) -> anyhow::Result<Extras> {
    let (manifest, text) = parse(path)?;
    let mut corporate = Vec::new();
    for c in manifest.customer {
        match c.route.as_deref().map(str::trim) {
            None | Some("autopilot") => {}
            Some("corporate-identifiers") => {
                corporate.push((c.tenant.trim().to_owned(), c.mark_others_personal))
            }
            Some(other) => {
                return Err(crate::cli::hinted!(
                    "`route` is `autopilot` (the default) or `corporate-identifiers`",
                    "{}: customer `{}`: unknown route `{other}`",
                    path.display(),
                    c.tenant
                ));
            }
        }
    }
    Ok(Extras {
        from: manifest.from.filter(|f| !f.trim().is_empty()),
        corporate,
        digest: Some(apctl::graph::hash_digest(&text)),
    })
}

/// Reads a manifest into inputs, one per listed file.
pub fn read(path: &Path) -> anyhow::Result<Vec<Input>> {
    let (manifest, _) = parse(path)?;
    if manifest.customer.is_empty() {
        bail!("{}: the manifest lists no `[[customer]]`", path.display());
    }
    inputs(path, manifest)
}

/// The manifest, and its text (for its digest).
fn parse(path: &Path) -> anyhow::Result<(Manifest, String)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the manifest `{}`", path.display()))?;
    let manifest = toml::from_str(&text).map_err(|e| {
        let message = e.to_string();
        // `"C:\devices\a.csv"` is the likeliest way to meet a TOML escape.
        let hint = if message.contains("escape") {
            "in TOML a backslash inside double quotes starts an escape: write Windows paths in single quotes ('C:\\devices\\contoso.csv') or with forward slashes"
        } else {
            "a manifest lists `[[customer]]` tables with `tenant` and `files` (and optional `group_tag`, `order_id`), and may give `from` (the partner's name)"
        };
        crate::cli::hinted!(hint, "{}: {}", path.display(), message.trim_end())
    })?;
    Ok((manifest, text))
}

/// The manifest's customers as inputs, one per listed file.
fn inputs(path: &Path, manifest: Manifest) -> anyhow::Result<Vec<Input>> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut seen = HashSet::new();
    let mut inputs = Vec::new();
    for c in manifest.customer {
        let tenant = super::settings::check_tenant_text(&c.tenant)?;
        if !seen.insert(tenant.to_lowercase()) {
            return Err(crate::cli::hinted!(
                "list all of a customer's files in one `[[customer]]`",
                "{}: customer `{tenant}` is listed twice",
                path.display()
            ));
        }
        if c.files.is_empty() {
            bail!("{}: customer `{tenant}` lists no files", path.display());
        }
        for f in c.files {
            let file = dir.join(&f);
            let group_tag = c.group_tag.clone().or(manifest.group_tag.clone());
            if let Some(Err(e)) = group_tag
                .as_deref()
                .map(apctl::input::csv::checks::check_group_tag)
            {
                return Err(crate::cli::hinted!(
                    "shorten the tag, or fix the column it was pasted from",
                    "{}: customer `{tenant}`: group_tag: {e}",
                    path.display()
                ));
            }
            inputs.push(Input {
                file,
                tenant: Some(tenant.clone()),
                group_tag,
                order_id: c.order_id.clone().or(manifest.order_id.clone()),
                lines: None,
            });
        }
    }
    Ok(inputs)
}

/// `K/N`: shard K of N, 1-based.
pub fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a shard like `2/5`"))?;
    let (k, n): (u32, u32) = (
        k.trim().parse().map_err(|_| format!("`{k}` is not a number"))?,
        n.trim().parse().map_err(|_| format!("`{n}` is not a number"))?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(format!("`{text}`: the shard must be between 1/N and N/N"));
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse() {
        assert_eq!(parse_shard("2/5"), Ok((2, 5)));
        assert!(parse_shard("0/5").is_err());
        assert!(parse_shard("6/5").is_err());
        assert!(parse_shard("x").is_err());
    }

    #[test]
    fn a_manifest_maps_customers_to_files_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.csv"), "x").unwrap();
        std::fs::write(dir.path().join("b.csv"), "x").unwrap();
        let m = dir.path().join("m.toml");
        std::fs::write(
            &m,
            "group_tag = \"Default\"\n[[customer]]\ntenant = \"contoso.onmicrosoft.com\"\nfiles = [\"a.csv\"]\norder_id = \"PO-1\"\n[[customer]]\ntenant = \"Fabrikam Inc\"\nfiles = [\"b.csv\"]\ngroup_tag = \"Lab\"\n",
        )
        .unwrap();
        let inputs = read(&m).unwrap();
        assert_eq!(inputs.len(), 2);
        assert_eq!(inputs[0].group_tag.as_deref(), Some("Default"));
        assert_eq!(inputs[0].order_id.as_deref(), Some("PO-1"));
        assert_eq!(inputs[1].tenant.as_deref(), Some("Fabrikam Inc"));
        assert_eq!(inputs[1].group_tag.as_deref(), Some("Lab"));
        std::fs::write(&m, "[[customer]]\ntenant = \"x.com\"\nfiles = [\"a.csv\"]\n[[customer]]\ntenant = \"X.com\"\nfiles = [\"b.csv\"]\n").unwrap();
        assert!(read(&m).unwrap_err().to_string().contains("listed twice"));
        std::fs::write(&m, "[[customer]]\ntenant = \"x.com\"\nfile = [\"a.csv\"]\n").unwrap();
        let e = read(&m).unwrap_err().to_string();
        assert!(e.contains("m.toml") && e.contains("file"), "{e}");
    }

    #[test]
    fn a_windows_path_in_double_quotes_gets_the_quoting_hint() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.toml");
        std::fs::write(
            &m,
            "[[customer]]\ntenant = \"x.com\"\nfiles = [\"C:\\devices\\a.csv\"]\n",
        )
        .unwrap();
        let e = read(&m).unwrap_err();
        let hint = crate::cli::hint_of(&e).unwrap();
        assert!(
            hint.contains("single quotes ('C:\\devices\\contoso.csv')"),
            "{hint}"
        );
        // Written that way, the path is read as written.
        std::fs::write(
            &m,
            "[[customer]]\ntenant = \"x.com\"\nfiles = ['C:\\devices\\a.csv']\n",
        )
        .unwrap();
        let inputs = read(&m).unwrap();
        let e = check_present(&inputs, Some(&m)).unwrap_err().to_string();
        assert!(
            e.contains("cannot be read") && e.contains("C:\\devices\\a.csv") && e.contains("customer x.com"),
            "{e}"
        );
    }
}
