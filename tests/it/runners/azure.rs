//! Azure Pipelines, as far as the example uses it: stages with `dependsOn`
//! and `condition`, jobs with a matrix, steps with `condition`
//! (`succeeded()` by default, `always()`), variables as macros (`$(NAME)`,
//! left as written when undefined) and as environment (not secrets, which
//! reach a script only through `env:`), the implicit checkout, `script`,
//! `AzureCLI@2` with a workload-identity service connection,
//! `PublishTestResults@2`, `publish` and `download: current`, and the
//! logging commands that set a step's result and PATH. A step's result is
//! the worse of its exit code's and the one it set with `task.complete`, as
//! the agent merges them (`TaskResultUtil.MergeTaskResults` in
//! microsoft/azure-pipelines-agent's StepsRunner).

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::Value;

use super::{Night, Ran, bash, copy_tree, defined, scalar, wildcard};
use crate::common::DEMO_CLIENT_ID;

/// A task's, job's or run's result, worst last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Succeeded,
    SucceededWithIssues,
    Failed,
}

/// A job instance: its name, result and steps (name, and result and
/// output unless it was skipped).
pub type Job = (String, Outcome, Vec<(String, Option<(Outcome, Ran)>)>);

/// A pipeline run's outcome.
pub struct Run {
    /// Every job instance: (name, result, its steps as (name, outcome)).
    pub jobs: Vec<Job>,
    /// The `##vso[task.logissue …]` lines the steps printed.
    pub issues: Vec<String>,
}

impl Run {
    /// The run's result as the pipeline's page shows it.
    pub fn result(&self) -> &'static str {
        match self.jobs.iter().map(|j| j.1).max() {
            None | Some(Outcome::Succeeded) => "succeeded",
            Some(Outcome::SucceededWithIssues) => "partiallySucceeded",
            Some(Outcome::Failed) => "failed",
        }
    }

    /// Every step's name, outcome and output, for a failing assertion.
    pub fn log(&self) -> String {
        let mut out = String::new();
        for (job, result, steps) in &self.jobs {
            out.push_str(&format!("== job {job}: {result:?}\n"));
            for (name, ran) in steps {
                match ran {
                    None => out.push_str(&format!("-- {name}: skipped\n")),
                    Some((o, r)) => out.push_str(&format!(
                        "-- {name}: {o:?} (exit {})\n{}{}",
                        r.code, r.stdout, r.stderr
                    )),
                }
            }
        }
        out
    }
}

/// A variable: its value and whether it is secret.
type Variables = BTreeMap<String, (String, bool)>;

/// Runs the pipeline file for one night.
pub fn run(night: &Night, pipeline: &Value, build_id: u64) -> Run {
    let (vars, secrets) = defined();
    let mut variables = Variables::new();
    // As the partner defines them following the file's header: the app is
    // the service connection's, not a variable.
    variables.insert(
        "PARTNER_TENANT_ID".into(),
        (vars["PARTNER_TENANT_ID"].clone(), false),
    );
    for (k, v) in secrets {
        variables.insert(k, (v, true));
    }
    for (k, v) in pipeline["variables"].as_mapping().into_iter().flatten() {
        variables.insert(k.as_str().unwrap().to_owned(), (scalar(v), false));
    }
    let mut run = Run {
        jobs: Vec::new(),
        issues: Vec::new(),
    };
    let mut stages: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut previous: Option<String> = None;
    for stage in pipeline["stages"].as_sequence().expect("stages") {
        let name = stage["stage"].as_str().expect("a stage name").to_owned();
        let depends: Vec<String> = match &stage["dependsOn"] {
            Value::String(s) => vec![s.clone()],
            Value::Sequence(l) => l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            _ => previous.iter().cloned().collect(),
        };
        let ok = depends
            .iter()
            .all(|d| stages.get(d).is_some_and(|o| *o < Outcome::Failed));
        let mut result = Outcome::Succeeded;
        if condition(stage["condition"].as_str(), ok) {
            for job in stage["jobs"].as_sequence().expect("jobs") {
                for matrix in matrix(job) {
                    let mut vars = variables.clone();
                    vars.extend(matrix.clone());
                    let instance = run_job(night, job, &vars, &matrix, build_id, &mut run.issues);
                    result = result.max(instance.1);
                    run.jobs.push(instance);
                }
            }
        } else {
            result = Outcome::Failed;
        }
        stages.insert(name.clone(), result);
        previous = Some(name);
    }
    run
}

/// A `condition:`; none means `succeeded()`.
fn condition(expr: Option<&str>, ok: bool) -> bool {
    match expr.map(str::trim) {
        None | Some("succeeded()") => ok,
        Some("always()") => true,
        Some("failed()") => !ok,
        Some(other) => panic!("the stand-in agent does not know the condition {other}"),
    }
}

/// The job's matrix: one set of variables per instance (named by its key).
fn matrix(job: &Value) -> Vec<Variables> {
    match job["strategy"]["matrix"].as_mapping() {
        None => vec![Variables::new()],
        Some(m) => m
            .iter()
            .map(|(_, vars)| {
                vars.as_mapping()
                    .expect("a matrix entry's variables")
                    .iter()
                    .map(|(k, v)| (k.as_str().unwrap().to_owned(), (scalar(v), false)))
                    .collect()
            })
            .collect(),
    }
}

/// `text` with every `$(NAME)` that is defined replaced; the others stay
/// as written, as the agent leaves them.
fn expand(text: &str, vars: &Variables) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find(')') else {
            break;
        };
        let name = &rest[start + 2..start + len];
        match vars.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            Some((_, (value, _))) => out.push_str(value),
            None => out.push_str(&rest[start..=start + len]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// One job instance on a fresh agent.
fn run_job(
    night: &Night,
    job: &Value,
    variables: &Variables,
    matrix: &Variables,
    build_id: u64,
    issues: &mut Vec<String>,
) -> Job {
    let name = job["job"].as_str().expect("a job name");
    let label = match matrix.values().next() {
        Some((v, _)) => format!("{name} ({v})"),
        None => name.to_owned(),
    };
    let agent = night.root.path().join("agents").join(format!(
        "azure-{name}-{}",
        matrix.values().next().map(|v| v.0.as_str()).unwrap_or("")
    ));
    for dir in ["s", "a", "_temp", "home"] {
        std::fs::create_dir_all(agent.join(dir)).unwrap();
    }
    let mut vars = variables.clone();
    let at = |d: &str| agent.join(d).display().to_string();
    for (k, v, secret) in [
        ("Build.ArtifactStagingDirectory", at("a"), false),
        ("Agent.TempDirectory", at("_temp"), false),
        ("Pipeline.Workspace", agent.display().to_string(), false),
        ("Build.SourcesDirectory", at("s"), false),
        ("System.DefaultWorkingDirectory", at("s"), false),
        ("Build.BuildId", build_id.to_string(), false),
        ("System.OidcRequestUri", night.oidc_url("/ado-oidc"), false),
        ("System.AccessToken", "job-access-token".to_owned(), true),
        ("TF_BUILD", "True".to_owned(), false),
    ] {
        vars.insert(k.to_owned(), (v, secret));
    }
    // Every job checks the repository out first (`checkout: self`).
    copy_tree(&night.repo, &agent.join("s"));
    let mut path_prefix: Vec<String> = Vec::new();
    let mut result = Outcome::Succeeded;
    let mut steps = Vec::new();
    for step in job["steps"].as_sequence().expect("steps") {
        let title = step["displayName"]
            .as_str()
            .or(step["task"].as_str())
            .or(step["publish"].as_str().map(|_| "publish"))
            .or(step["download"].as_str().map(|_| "download"))
            .unwrap_or("script")
            .to_owned();
        if !condition(step["condition"].as_str(), result < Outcome::Failed) {
            steps.push((title, None));
            continue;
        }
        let mut env = night.base_env(&agent);
        // Variables reach a script as environment, named in capitals with
        // `_` for `.`; secrets do not.
        for (k, (v, secret)) in &vars {
            if !secret {
                env.insert(k.to_uppercase().replace('.', "_"), v.clone());
            }
        }
        if !path_prefix.is_empty() {
            let path = format!("{}:{}", path_prefix.join(":"), env["PATH"]);
            env.insert("PATH".into(), path);
        }
        for (k, v) in step["env"].as_mapping().into_iter().flatten() {
            env.insert(k.as_str().unwrap().to_owned(), expand(&scalar(v), &vars));
        }
        let ran = run_step(night, step, &vars, &agent, env);
        let mut outcome = if ran.code == 0 {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        };
        for line in ran.stdout.lines() {
            if let Some(dir) = line.strip_prefix("##vso[task.prependpath]") {
                path_prefix.insert(0, dir.to_owned());
            } else if let Some(rest) = line.strip_prefix("##vso[task.complete result=") {
                let set = match rest.split([';', ']']).next() {
                    Some("Succeeded") => Outcome::Succeeded,
                    Some("SucceededWithIssues") => Outcome::SucceededWithIssues,
                    _ => Outcome::Failed,
                };
                outcome = outcome.max(set);
            } else if line.starts_with("##vso[task.logissue") {
                issues.push(line.to_owned());
            }
        }
        result = result.max(outcome);
        steps.push((title, Some((outcome, ran))));
    }
    (label, result, steps)
}

/// One step: a script, a task, a publish or a download.
fn run_step(
    night: &Night,
    step: &Value,
    vars: &Variables,
    agent: &Path,
    mut env: BTreeMap<String, String>,
) -> Ran {
    let sources = agent.join("s");
    let done = |code: i32, said: String| Ran {
        code,
        stdout: said,
        stderr: String::new(),
    };
    if let Some(script) = step["script"].as_str() {
        return bash(&expand(script, vars), &[], &sources, &env);
    }
    if let Some(artifact) = step["artifact"].as_str() {
        let from = expand(step["publish"].as_str().expect("publish: a path"), vars);
        let into = night.artifacts().join(expand(artifact, vars));
        if into.exists() {
            return done(1, format!("##[error]Artifact {artifact} already exists\n"));
        }
        copy_tree(Path::new(&from), &into);
        return done(0, String::new());
    }
    if step["download"].as_str() == Some("current") {
        for entry in std::fs::read_dir(night.artifacts()).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &agent.join(entry.file_name()));
        }
        return done(0, String::new());
    }
    let inputs = &step["inputs"];
    match step["task"].as_str() {
        Some("AzureCLI@2") => {
            if inputs["azureSubscription"].as_str() != Some("apctl-partner-app") {
                return done(1, "##[error]the service connection was not found\n".into());
            }
            assert_eq!(inputs["scriptType"].as_str(), Some("bash"));
            assert_eq!(inputs["scriptLocation"].as_str(), Some("inlineScript"));
            // A workload-identity connection, as the task exposes it.
            for (k, v) in [
                ("AZURESUBSCRIPTION_CLIENT_ID", DEMO_CLIENT_ID),
                ("AZURESUBSCRIPTION_TENANT_ID", super::PARTNER_TENANT_ID),
                ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "sc-apctl-partner-app"),
            ] {
                env.insert(k.into(), v.into());
            }
            let script = expand(inputs["inlineScript"].as_str().expect("inlineScript"), vars);
            bash(&script, &[], &sources, &env)
        }
        Some("PublishTestResults@2") => {
            assert_eq!(inputs["testResultsFormat"].as_str(), Some("JUnit"));
            let pattern = expand(inputs["testResultsFiles"].as_str().expect("files"), vars);
            let (dir, file) = pattern.rsplit_once('/').expect("a folder and a pattern");
            let found = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| wildcard(file, &e.file_name().to_string_lossy()))
                .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("<testsuite")))
                .count();
            let said = match found {
                0 => format!("##[warning]No test result files matching {pattern} were found.\n"),
                n => format!("published {n} test result file(s)\n"),
            };
            done(0, said)
        }
        other => panic!("the stand-in agent does not know the step {other:?}: {step:?}"),
    }
}
