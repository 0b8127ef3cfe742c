//! Azure DevOps and GitHub Actions output, byte for byte, when their
//! variables are set; none of it otherwise. And the JUnit file.

use crate::common::{apctl_env, example};

const NOT_FOUND: &str = "We couldn't register this device because we could not find a match for the provided manufacturer, model, or serial number. Confirm these values with your device supplier.";
const CLAIMED: &str =
    "This device has already been claimed by another organization. Check with your device supplier.";

fn import(env: &[(&str, &str)], extra: &[&str]) -> crate::common::Run {
    let file = example("contoso-partner.csv");
    let mut args = vec![
        "import",
        file.as_str(),
        "--tenant",
        "contoso.onmicrosoft.com",
        "--simulate",
        "--group-tag",
        "Lab",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    apctl_env(&args, env)
}

/// The lines of stdout after the human summary.
fn commands(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| l.starts_with("##vso[") || l.starts_with("::"))
        .map(|l| format!("{l}\n"))
        .collect()
}

const SUMMARY: &str = "## apctl import: some devices failed

| state | devices |
|---|---:|
| Registration pending | 0 |
| Registration failed | 2 |
| Ready for user | 2 |
| Active | 0 |
| Inactive | 0 |
| **rows** | **4** |

| customer | rows | failed | result |
|---|---:|---:|---|
| Contoso Ltd (contoso.onmicrosoft.com) | 4 | 2 | some devices failed |

| device | customer | state | message | details |
|---|---|---|---|---|
| PC-0003 | Contoso Ltd | Registration failed | Device not found | We couldn't register this device because we could not find a match for the provided manufacturer, model, or serial number. Confirm these values with your device supplier. |
| PC-0004 | Contoso Ltd | Registration failed | Device claimed by another organization | This device has already been claimed by another organization. Check with your device supplier. |

";

#[test]
fn azure_devops_gets_logging_commands_and_an_uploaded_summary() {
    let dir = tempfile::tempdir().unwrap();
    let temp = dir.path().to_str().unwrap();
    let run = import(&[("TF_BUILD", "True"), ("AGENT_TEMPDIRECTORY", temp)], &[]);
    assert_eq!(run.code, 1);
    let summary = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), SUMMARY);
    let file = example("contoso-partner.csv");
    let want = format!(
        "##vso[task.logissue type=error;sourcepath={file};linenumber=4]Contoso Ltd PC-0003: Registration failed — Device not found: {NOT_FOUND}\n\
         ##vso[task.logissue type=error;sourcepath={file};linenumber=5]Contoso Ltd PC-0004: Registration failed — Device claimed by another organization: {CLAIMED}\n\
         ##vso[task.setprogress value=100;]Contoso Ltd\n\
         ##vso[task.uploadsummary]{}\n\
         ##vso[task.complete result=Failed;]some devices failed\n",
        summary.display()
    );
    assert_eq!(commands(&run.stdout), want);
}

#[test]
fn github_actions_gets_annotations_and_the_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let step_summary = dir.path().join("step-summary.md");
    std::fs::write(&step_summary, "earlier step\n").unwrap();
    let run = import(
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", step_summary.to_str().unwrap()),
        ],
        &["--output", "json"],
    );
    assert_eq!(run.code, 1);
    run.json(); // stdout stays pure JSON: the commands go to stderr
    let file = example("contoso-partner.csv")
        .replace(':', "%3A")
        .replace(',', "%2C");
    let want = format!(
        "::error file={file},line=4,title=apctl%3A Registration failed::Contoso Ltd PC-0003: Registration failed — Device not found: {NOT_FOUND}\n\
         ::error file={file},line=5,title=apctl%3A Registration failed::Contoso Ltd PC-0004: Registration failed — Device claimed by another organization: {CLAIMED}\n"
    );
    assert_eq!(commands(&run.stderr), want);
    assert_eq!(
        std::fs::read_to_string(&step_summary).unwrap(),
        format!("earlier step\n{SUMMARY}"),
        "appended, not overwritten"
    );
}

#[test]
fn outside_a_pipeline_there_are_no_pipeline_commands() {
    let run = import(&[], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(commands(&run.stdout), "");
    assert_eq!(commands(&run.stderr), "");
    let run = import(&[("TF_BUILD", "False"), ("GITHUB_ACTIONS", "")], &[]);
    assert_eq!(commands(&run.stdout), "");
}

#[test]
fn junit_has_a_test_case_per_device_and_a_failure_per_failed_one() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("out/devices.xml");
    let run = import(&[], &["--junit", junit.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"apctl import\" tests=\"4\" failures=\"2\" skipped=\"0\">"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 4);
    assert!(xml.contains(&format!(
        "<failure message=\"Device not found\" type=\"Registration failed\">{NOT_FOUND}</failure>"
    )));
    assert!(xml.contains("<failure message=\"Device claimed by another organization\""));
    assert!(xml.trim_end().ends_with("</testsuites>"));
}

/// Under Azure DevOps the task's progress moves while the run goes: each
/// `setprogress` comes with the progress line it belongs to, rising, before
/// the run's own lines at the end.
#[test]
fn azure_devops_progress_moves_while_the_run_goes() {
    let agent = tempfile::tempdir().unwrap();
    let run = crate::common::apctl_env(
        [
            "import",
            &crate::common::example("fabrikam-every-state.csv"),
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--simulate",
        ],
        &[
            ("TF_BUILD", "True"),
            ("AGENT_TEMPDIRECTORY", agent.path().to_str().unwrap()),
            ("APCTL_TIME_SCALE", "0"),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let progress: Vec<(usize, u64)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let value = l.strip_prefix("##vso[task.setprogress value=")?;
            Some((i, value.split(';').next()?.parse().ok()?))
        })
        .collect();
    assert!(progress.len() >= 2, "progress as the run goes:\n{}", run.stderr);
    assert!(
        progress.windows(2).all(|w| w[0].1 < w[1].1),
        "rising: {progress:?}"
    );
    // Each one is followed by the settled line it stands for.
    for (i, _) in &progress {
        assert!(lines[i + 1].contains("settled"), "{}", run.stderr);
    }
    assert!(
        lines.iter().any(|l| l.starts_with("Fabrikam Inc: ")),
        "names, not ids"
    );
}

/// `apctl validate` in a pipeline points at each bad cell: one annotation
/// per problem with its file, line and column; text from the file cannot
/// become a command.
#[test]
fn validate_annotates_every_problem_on_its_cell() {
    let dir = tempfile::tempdir().unwrap();
    let file = crate::common::write(
        dir.path(),
        "bad.csv",
        "Device Serial Number,Windows Product ID,Hardware Hash\n##vso[task.setvariable variable=X]1,,not-a-hash\n,,QUJD\n",
    );
    let path = file.to_str().unwrap();
    let azure = crate::common::apctl_env(["validate", path], &[("TF_BUILD", "True")]);
    assert_eq!(azure.code, 1);
    let issues: Vec<&str> = azure
        .stdout
        .lines()
        .filter(|l| l.starts_with("##vso[task.logissue"))
        .collect();
    assert!(issues.len() >= 2, "{}", azure.stdout);
    assert!(
        issues
            .iter()
            .any(|l| l.contains(";linenumber=2;columnnumber=3;code=hash-not-valid]")),
        "{issues:?}"
    );
    assert!(
        issues
            .iter()
            .any(|l| l.contains(";linenumber=3;columnnumber=1;code=empty-serial]")),
        "{issues:?}"
    );
    assert!(
        !azure
            .stdout
            .lines()
            .any(|l| l.starts_with("##vso[task.setvariable")),
        "data never runs"
    );
    let github = crate::common::apctl_env(["validate", path], &[("GITHUB_ACTIONS", "true")]);
    assert!(
        github
            .stdout
            .lines()
            .any(|l| l.starts_with("::error file=") && l.contains(",line=3,col=1,")),
        "{}",
        github.stdout
    );
}
