//! GitHub Actions, as far as the example workflow uses it: jobs in the
//! order of their `needs`, `if:` with `always()`, `success()` and
//! `failure()`, a matrix, `${{ matrix.* }}`, `${{ vars.* }}` and
//! `${{ secrets.* }}` (empty when not defined), `run:` steps under
//! `bash -e`, `$GITHUB_PATH`, workflow commands (`::error`, `::warning`),
//! `permissions: id-token: write`, and the checkout and artifact actions.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::Value;

use super::{Night, Ran, bash, copy_tree, defined, scalar, wildcard};

/// A job instance: its name, whether it succeeded, and its steps (name,
/// and output unless it was skipped).
pub type Job = (String, bool, Vec<(String, Option<Ran>)>);

/// A workflow run's outcome.
pub struct Run {
    /// Every job instance: (name, succeeded, its steps as (name, outcome)).
    pub jobs: Vec<Job>,
    /// The `::error` and `::warning` lines the steps printed.
    pub annotations: Vec<String>,
}

impl Run {
    /// The run's conclusion as GitHub shows it.
    pub fn conclusion(&self) -> &'static str {
        if self.jobs.iter().all(|j| j.1) {
            "success"
        } else {
            "failure"
        }
    }

    /// Every step's name, outcome and output, for a failing assertion.
    pub fn log(&self) -> String {
        let mut out = String::new();
        for (job, ok, steps) in &self.jobs {
            out.push_str(&format!("== job {job}: {}\n", if *ok { "ok" } else { "FAILED" }));
            for (name, ran) in steps {
                match ran {
                    None => out.push_str(&format!("-- {name}: skipped\n")),
                    Some(r) => out.push_str(&format!("-- {name}: exit {}\n{}{}", r.code, r.stdout, r.stderr)),
                }
            }
        }
        out
    }
}

/// Runs the workflow file `workflow` for one night.
pub fn run(night: &Night, workflow: &Value, run_id: u64) -> Run {
    let (vars, secrets) = defined();
    let jobs = workflow["jobs"].as_mapping().expect("jobs");
    let mut done: BTreeMap<String, bool> = BTreeMap::new();
    let mut run = Run {
        jobs: Vec::new(),
        annotations: Vec::new(),
    };
    while done.len() < jobs.len() {
        let before = done.len();
        for (name, job) in jobs {
            let name = name.as_str().unwrap().to_owned();
            let needs = needs(job);
            if done.contains_key(&name) || !needs.iter().all(|n| done.contains_key(n)) {
                continue;
            }
            let needs_ok = needs.iter().all(|n| done[n]);
            let go = condition(job["if"].as_str(), needs_ok);
            let mut ok = true;
            if go {
                for matrix in matrix(job) {
                    let ctx = Context {
                        matrix,
                        vars: &vars,
                        secrets: &secrets,
                    };
                    let instance = run_job(night, workflow, &name, job, &ctx, run_id, &mut run.annotations);
                    ok &= instance.1;
                    run.jobs.push(instance);
                }
            } else {
                run.jobs.push((name.clone(), false, Vec::new()));
                ok = false;
            }
            done.insert(name, ok);
        }
        assert!(done.len() > before, "a job needs a job that does not exist");
    }
    run
}

fn needs(job: &Value) -> Vec<String> {
    match &job["needs"] {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(list) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// An `if:`; none means `success()`.
fn condition(expr: Option<&str>, ok: bool) -> bool {
    match expr.map(str::trim) {
        None | Some("success()") | Some("${{ success() }}") => ok,
        Some("always()") | Some("${{ always() }}") => true,
        Some("failure()") | Some("${{ failure() }}") => !ok,
        Some(other) => panic!("the stand-in runner does not know the condition {other}"),
    }
}

/// The job's matrix, one map per instance (one empty map without one).
fn matrix(job: &Value) -> Vec<BTreeMap<String, String>> {
    let mut all = vec![BTreeMap::new()];
    if let Some(m) = job["strategy"]["matrix"].as_mapping() {
        for (key, values) in m {
            let key = key.as_str().unwrap().to_owned();
            let values = values.as_sequence().expect("a matrix of lists");
            all = all
                .into_iter()
                .flat_map(|base| {
                    values.iter().map({
                        let key = key.clone();
                        move |v| {
                            let mut m = base.clone();
                            m.insert(key.clone(), scalar(v));
                            m
                        }
                    })
                })
                .collect();
        }
    }
    all
}

/// What `${{ … }}` can name.
struct Context<'a> {
    matrix: BTreeMap<String, String>,
    vars: &'a BTreeMap<String, String>,
    secrets: &'a BTreeMap<String, String>,
}

impl Context<'_> {
    /// `text` with every `${{ … }}` replaced as GitHub does.
    fn expand(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("a closed expression") + start;
            let expr = rest[start + 3..end].trim();
            let (scope, name) = expr.split_once('.').unwrap_or((expr, ""));
            let value = match scope {
                "matrix" => self.matrix.get(name).cloned(),
                "vars" => Some(self.vars.get(name).cloned().unwrap_or_default()),
                "secrets" => Some(self.secrets.get(name).cloned().unwrap_or_default()),
                _ => None,
            };
            out.push_str(&value.unwrap_or_else(|| panic!("the stand-in runner cannot evaluate {expr}")));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// One job instance on a fresh agent.
fn run_job(
    night: &Night,
    workflow: &Value,
    name: &str,
    job: &Value,
    ctx: &Context,
    run_id: u64,
    annotations: &mut Vec<String>,
) -> Job {
    let label = match ctx.matrix.values().next() {
        Some(v) => format!("{name} ({v})"),
        None => name.to_owned(),
    };
    let agent = night
        .root
        .path()
        .join("agents")
        .join(format!("github-{}", label.replace([' ', '(', ')'], "")));
    let work = agent.join("work");
    for dir in ["work", "temp", "home"] {
        std::fs::create_dir_all(agent.join(dir)).unwrap();
    }
    let path_file = agent.join("github_path");
    std::fs::write(&path_file, "").unwrap();
    let mut env = night.base_env(&agent);
    for (k, v) in [
        ("CI", "true".to_owned()),
        ("GITHUB_ACTIONS", "true".to_owned()),
        ("GITHUB_RUN_ID", run_id.to_string()),
        ("GITHUB_WORKSPACE", work.display().to_string()),
        ("RUNNER_TEMP", agent.join("temp").display().to_string()),
        ("GITHUB_PATH", path_file.display().to_string()),
        (
            "GITHUB_STEP_SUMMARY",
            agent.join("summary.md").display().to_string(),
        ),
    ] {
        env.insert(k.to_owned(), v);
    }
    let permissions = if job["permissions"].is_null() {
        &workflow["permissions"]
    } else {
        &job["permissions"]
    };
    if permissions["id-token"].as_str() == Some("write") {
        env.insert(
            "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
            night.oidc_url("/github-oidc?api-version=2.0"),
        );
        env.insert(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
            "runner-request-token".into(),
        );
    }
    let mut ok = true;
    let mut steps = Vec::new();
    for step in job["steps"].as_sequence().expect("steps") {
        let title = step["name"]
            .as_str()
            .or(step["uses"].as_str())
            .or(step["run"].as_str())
            .unwrap_or("?")
            .lines()
            .next()
            .unwrap_or("?")
            .to_owned();
        if !condition(step["if"].as_str(), ok) {
            steps.push((title, None));
            continue;
        }
        let mut step_env = env.clone();
        // Lines a step appended to $GITHUB_PATH come first from the next step on.
        let added: Vec<String> = std::fs::read_to_string(&path_file)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        if !added.is_empty() {
            let path = format!("{}:{}", added.join(":"), env["PATH"]);
            step_env.insert("PATH".into(), path);
        }
        if let Some(map) = step["env"].as_mapping() {
            for (k, v) in map {
                step_env.insert(k.as_str().unwrap().to_owned(), ctx.expand(&scalar(v)));
            }
        }
        let ran = match (step["uses"].as_str(), step["run"].as_str()) {
            (Some(action), None) => action_step(night, action, &step["with"], ctx, &work),
            (None, Some(script)) => bash(&ctx.expand(script), &["-e"], &work, &step_env),
            _ => panic!("a step is `uses` or `run`: {step:?}"),
        };
        annotations.extend(
            ran.stdout
                .lines()
                .filter(|l| l.starts_with("::error") || l.starts_with("::warning"))
                .map(str::to_owned),
        );
        ok &= ran.code == 0;
        steps.push((title, Some(ran)));
    }
    (label, ok, steps)
}

/// The three actions the workflow uses.
fn action_step(night: &Night, action: &str, with: &Value, ctx: &Context, work: &Path) -> Ran {
    let (name, _) = action.split_once('@').expect("an action has a version");
    let mut said = String::new();
    let code = match name {
        "actions/checkout" => {
            copy_tree(&night.repo, work);
            0
        }
        "actions/upload-artifact" => {
            let artifact = ctx.expand(with["name"].as_str().expect("an artifact name"));
            let into = night.artifacts().join(&artifact);
            if into.exists() {
                said = format!("an artifact named {artifact} already exists in this run");
                1
            } else {
                std::fs::create_dir_all(&into).unwrap();
                let paths = ctx.expand(with["path"].as_str().expect("paths"));
                for p in paths.lines().map(str::trim).filter(|p| !p.is_empty()) {
                    if work.join(p).is_dir() {
                        copy_tree(&work.join(p), &into.join(p));
                        continue;
                    }
                    match std::fs::copy(work.join(p), into.join(p)) {
                        Ok(_) => {}
                        // if-no-files-found: warn (the default)
                        Err(_) => {
                            said.push_str(&format!("::warning::no files were found with the path {p}\n"))
                        }
                    }
                }
                0
            }
        }
        "actions/download-artifact" => {
            let pattern = with["pattern"].as_str().unwrap_or("*");
            assert_eq!(
                with["merge-multiple"].as_bool(),
                Some(true),
                "the example merges the artifacts"
            );
            for entry in std::fs::read_dir(night.artifacts()).unwrap() {
                let entry = entry.unwrap();
                if wildcard(pattern, &entry.file_name().to_string_lossy()) {
                    copy_tree(&entry.path(), work);
                }
            }
            0
        }
        other => panic!("the stand-in runner does not know the action {other}"),
    };
    Ran {
        code,
        stdout: said,
        stderr: String::new(),
    }
}
