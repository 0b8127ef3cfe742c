//! The files a partner copies into a pipeline, and the release workflow they
//! download from, read the way their runners read them: YAML that parses
//! with no key given twice (Azure Pipelines refuses a step with two
//! `displayName`s), steps of one kind each, and the archive the examples
//! download is one the release publishes.

use std::path::Path;

use serde_yaml_ng::Value;

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

fn parse(path: &str) -> Value {
    serde_yaml_ng::from_str(&repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const AZURE: &str = "examples/pipelines/azure-pipelines.yml";
const GITHUB: &str = "examples/pipelines/github-workflow.yml";
const RELEASE: &str = ".github/workflows/release.yml";

/// Every step of every job, as (job name, step).
fn steps(jobs: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for (name, job) in jobs {
        for step in job["steps"].as_sequence().cloned().unwrap_or_default() {
            all.push((name.clone(), step));
        }
    }
    all
}

/// Every step of the GitHub example, as (job name, step).
fn github_steps() -> Vec<(String, Value)> {
    let github = parse(GITHUB);
    let jobs = github["jobs"].as_mapping().expect("jobs");
    steps(
        jobs.iter()
            .map(|(name, job)| (name.as_str().unwrap_or("?").to_owned(), job.clone()))
            .collect(),
    )
}

/// Every step of the Azure DevOps example, as (job name, step).
fn azure_steps() -> Vec<(String, Value)> {
    let azure = parse(AZURE);
    steps(
        azure["stages"]
            .as_sequence()
            .expect("stages")
            .iter()
            .flat_map(|stage| stage["jobs"].as_sequence().cloned().unwrap_or_default())
            .map(|job| (job["job"].as_str().unwrap_or("?").to_owned(), job))
            .collect(),
    )
}

fn keys_of(step: &Value, kinds: &[&str]) -> Vec<String> {
    let map = step.as_mapping().expect("a step is a mapping");
    kinds
        .iter()
        .filter(|k| map.contains_key(**k))
        .map(|k| (*k).to_owned())
        .collect()
}

#[test]
fn a_key_given_twice_is_refused_as_the_runners_refuse_it() {
    // The check below is only worth having if the parser sees this.
    let twice = "steps:\n  - script: echo\n    displayName: a\n    displayName: b\n";
    let err = serde_yaml_ng::from_str::<Value>(twice).unwrap_err().to_string();
    assert!(err.contains("duplicate"), "{err}");
}

#[test]
fn every_pipeline_file_parses_and_each_step_is_of_one_kind() {
    for path in [AZURE, GITHUB, RELEASE] {
        parse(path);
    }

    for (job, step) in github_steps() {
        let kinds = keys_of(&step, &["uses", "run"]);
        assert_eq!(
            kinds.len(),
            1,
            "{GITHUB}: a step of job {job} has {kinds:?}: {step:?}"
        );
    }

    let azure_steps = azure_steps();
    assert!(azure_steps.len() >= 6, "{azure_steps:?}");
    for (job, step) in azure_steps {
        let kinds = keys_of(
            &step,
            &["script", "task", "download", "publish", "checkout", "bash"],
        );
        assert_eq!(
            kinds.len(),
            1,
            "{AZURE}: a step of job {job} has {kinds:?}: {step:?}"
        );
    }
}

/// The archive and checksum names a pipeline downloads.
fn downloads(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("asset="))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_examples_download_an_archive_the_release_publishes_at_this_version() {
    let dist: toml::Value = toml::from_str(&repo_file("dist-workspace.toml")).unwrap();
    let targets: Vec<&str> = dist["dist"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    // dist names a Unix archive <package>-<target>.tar.xz, a .sha256 beside it.
    assert_eq!(dist["dist"]["checksum"].as_str(), Some("sha256"));
    let published: Vec<String> = targets
        .iter()
        .filter(|t| !t.contains("windows"))
        .map(|t| format!("apctl-{t}.tar.xz"))
        .collect();
    let version = env!("CARGO_PKG_VERSION");
    for path in [AZURE, GITHUB] {
        let text = repo_file(path);
        let assets = downloads(&text);
        assert!(!assets.is_empty(), "{path} downloads no release");
        for asset in assets {
            assert!(
                published.contains(&asset),
                "{path} downloads {asset}, not among {published:?}"
            );
        }
        assert!(
            text.contains("sha256sum -c"),
            "{path} does not check the checksum"
        );
        assert!(
            text.contains(&format!("APCTL_VERSION: \"{version}\"")),
            "{path} pins another version than this checkout's {version}"
        );
    }

    // The workflow is the one this dist version writes (`dist plan` refuses
    // to run from one that is not; `dist generate` rewrites it).
    let dist_version = dist["dist"]["cargo-dist-version"].as_str().unwrap();
    let release = repo_file(RELEASE);
    assert!(release.contains("autogenerated by dist"));
    assert!(
        release.contains(&format!("cargo-dist/releases/download/v{dist_version}/")),
        "{RELEASE} installs another dist than {dist_version}: run `dist generate`"
    );
}

/// Issue #27 point 3 (part): on a bad night apctl exits non-zero, and every
/// step that publishes a report still runs; the import step gets the
/// Partner Center refresh token.
#[test]
fn every_publish_step_runs_on_a_bad_night_and_the_secrets_are_mapped() {
    let mut uploads = 0;
    let mut mapped = false;
    for (job, step) in github_steps() {
        if step["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/upload-artifact"))
        {
            uploads += 1;
            assert_eq!(
                step["if"].as_str(),
                Some("always()"),
                "{GITHUB}: job {job}: {step:?}"
            );
        }
        if step["run"].as_str().is_some_and(|r| r.contains("apctl import")) {
            mapped |= step["env"]["APCTL_REFRESH_TOKEN"]
                .as_str()
                .is_some_and(|v| v.contains("secrets."));
        }
    }
    assert_eq!(uploads, 2, "the shards' reports and the merged one");
    assert!(
        mapped,
        "{GITHUB}: the import step maps APCTL_REFRESH_TOKEN from a secret"
    );

    let mut publishes = 0;
    let mut mapped = false;
    for (job, step) in azure_steps() {
        let publishing = step.get("publish").is_some()
            || step["task"]
                .as_str()
                .is_some_and(|t| t.starts_with("PublishTestResults"));
        if publishing {
            publishes += 1;
            assert_eq!(
                step["condition"].as_str(),
                Some("always()"),
                "{AZURE}: job {job}: {step:?}"
            );
        }
        if step["inputs"]["inlineScript"]
            .as_str()
            .is_some_and(|s| s.contains("apctl import"))
        {
            mapped |= step["env"]["APCTL_REFRESH_TOKEN"].as_str() == Some("$(APCTL_REFRESH_TOKEN)");
        }
    }
    assert_eq!(
        publishes, 3,
        "test results, the shards' reports and the merged one"
    );
    assert!(
        mapped,
        "{AZURE}: the import step maps the secret APCTL_REFRESH_TOKEN"
    );
}
