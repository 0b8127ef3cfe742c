//! Credential modes through the built binary against the simulator: the
//! Secure Application Model's refresh token (with write-back) and the
//! refusals a partner meets, each with its own fix.

use crate::common::{SimProcess, apctl_sim, example};

const DEMO_REFRESH_TOKEN: &str = "apctl-demo-refresh-token";

#[test]
fn a_refresh_token_is_exchanged_and_the_new_one_written_back_privately() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("refresh-token");
    std::fs::write(&file, format!("{DEMO_REFRESH_TOKEN}\n")).unwrap();
    let report = dir.path().join("r.json");
    let run = apctl_sim(
        &sim,
        &[
            "-vvv",
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--refresh-token-file",
            file.to_str().unwrap(),
            "--save-refresh-token",
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(
        saved.starts_with("sim-rt-"),
        "the rotated token was saved: {saved}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let everything = format!(
        "{}{}{}",
        run.stdout,
        run.stderr,
        std::fs::read_to_string(&report).unwrap()
    );
    assert!(
        !everything.contains(DEMO_REFRESH_TOKEN) && !everything.contains(&saved),
        "no refresh token in any output"
    );

    // The saved token works for the next run.
    let again = apctl_sim(
        &sim,
        &[
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
            "--refresh-token-file",
            file.to_str().unwrap(),
        ],
        &[("AZURE_CLIENT_SECRET", "")],
    );
    assert_eq!(again.code, 0, "{}", again.stdout);
}

#[test]
fn an_expired_or_mfa_refresh_token_says_run_login_again() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE]);
    for (token, code) in [
        ("apctl-demo-expired-refresh-token", "AADSTS700082"),
        ("apctl-demo-mfa-refresh-token", "AADSTS50076"),
    ] {
        let run = apctl_sim(
            &sim,
            &[
                "import",
                &example("contoso-autopilot.csv"),
                "--tenant",
                "contoso.onmicrosoft.com",
            ],
            &[("APCTL_REFRESH_TOKEN", token), ("AZURE_CLIENT_SECRET", "")],
        );
        assert_eq!(run.code, 2, "{token}");
        assert!(run.stdout.contains(code), "{}", run.stdout);
        assert!(run.stdout.contains("run `apctl login` again"), "{}", run.stdout);
        assert!(!run.stdout.contains(token) && !run.stderr.contains(token));
    }
}

#[test]
fn a_refresh_token_without_an_app_is_refused_before_anything_is_sent() {
    let run = crate::common::apctl_env(
        [
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
        ],
        &[("APCTL_REFRESH_TOKEN", "x")],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("AZURE_CLIENT_ID"), "{}", run.stderr);
}

#[test]
fn a_federated_token_file_replaces_the_secret_in_pipelines() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("oidc-token");
    std::fs::write(&file, "eyJhbGciOiJSUzI1NiJ9.demo-federated-token.sig\n").unwrap();
    let path = file.to_str().unwrap();
    let run = apctl_sim(
        &sim,
        &[
            "-vvv",
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
        ],
        &[("AZURE_CLIENT_SECRET", ""), ("AZURE_FEDERATED_TOKEN_FILE", path)],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("demo-federated-token") && !run.stderr.contains("demo-federated-token"));
    assert_eq!(
        sim.stats()["tokensIssued"],
        1,
        "one token for a run of many calls"
    );

    std::fs::write(&file, "apctl-demo-untrusted-assertion").unwrap();
    let refused = apctl_sim(
        &sim,
        &[
            "import",
            &example("contoso-autopilot.csv"),
            "--tenant",
            "contoso.onmicrosoft.com",
        ],
        &[("AZURE_CLIENT_SECRET", ""), ("AZURE_FEDERATED_TOKEN_FILE", path)],
    );
    assert_eq!(refused.code, 2);
    assert!(refused.stdout.contains("AADSTS700213"), "{}", refused.stdout);
}

#[test]
fn login_shows_the_device_code_waits_through_pending_and_saves_the_refresh_token() {
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().join("partner.rt");
    let run = crate::common::apctl_env(["login", "--simulate", "--save", save.to_str().unwrap()], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("enter the code APCTLDEMO"), "{}", run.stderr);
    let saved = std::fs::read_to_string(&save).unwrap();
    assert!(saved.starts_with("sim-rt-"));
    assert!(
        !run.stdout.contains(&saved) && !run.stderr.contains(&saved),
        "the token itself is never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&save).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

/// GitHub Actions: a token the runner gives lasts about five minutes, so a
/// token written to a file once fails the later customers of a long run
/// (AADSTS700024). With `ACTIONS_ID_TOKEN_REQUEST_URL` apctl asks the
/// runner for a fresh one for every access token. The simulator stands for
/// the expiry by taking an `apctl-demo-expiring…` assertion once; a local
/// stand-in plays the runner's endpoint.
#[tokio::test(flavor = "multi_thread")]
async fn github_actions_oidc_tokens_are_fetched_fresh_for_every_access_token() {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

    struct Fresh(std::sync::atomic::AtomicUsize);
    impl Respond for Fresh {
        fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({ "value": format!("apctl-demo-expiring-oidc-{n}") }))
        }
    }
    let runner = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/idtoken"))
        .and(query_param("audience", "api://AzureADTokenExchange"))
        .and(header("authorization", "Bearer gh-request-token-4Fq9"))
        .respond_with(Fresh(Default::default()))
        .mount(&runner)
        .await;
    let request_url = format!("{}/idtoken?api-version=2.0", runner.uri());
    let dir = tempfile::tempdir().unwrap();
    let once = dir.path().join("oidc-token");
    std::fs::write(&once, "apctl-demo-expiring-written-once").unwrap();
    let once = once.to_str().unwrap().to_owned();
    // Three customers by domain (no partner tenant needed to find them).
    let three = std::fs::read_to_string(example("many-customers.csv"))
        .unwrap()
        .replace("Fabrikam Inc", "fabrikam.onmicrosoft.com");
    let three = crate::common::write(dir.path(), "three.csv", three);
    let three = three.to_str().unwrap().to_owned();
    let (file_run, fresh_run) = tokio::task::spawn_blocking(move || {
        let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
        let import =
            |env: &[(&str, &str)]| apctl_sim(&sim, &["-v", "import", &three, "--output", "json"], env);
        let file_run = import(&[("AZURE_CLIENT_SECRET", ""), ("AZURE_FEDERATED_TOKEN_FILE", &once)]);
        let fresh_run = import(&[
            ("AZURE_CLIENT_SECRET", ""),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &request_url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token-4Fq9"),
        ]);
        (file_run, fresh_run)
    })
    .await
    .unwrap();
    // Written once: the first customer gets its token, the later ones meet
    // the expired assertion, with the fix.
    assert_eq!(file_run.code, 2, "{}", file_run.stderr);
    assert!(file_run.stdout.contains("AADSTS700024"), "{}", file_run.stdout);
    assert!(
        file_run.stdout.contains("ACTIONS_ID_TOKEN_REQUEST_URL"),
        "the fix"
    );
    // Fetched fresh: every customer of the run gets through.
    assert_eq!(fresh_run.code, 0, "{}\n{}", fresh_run.stdout, fresh_run.stderr);
    assert!(
        fresh_run.stderr.contains("fresh GitHub Actions OIDC token"),
        "-v names the mode: {}",
        fresh_run.stderr
    );
    let asked = runner.received_requests().await.unwrap().len();
    assert!(
        asked >= 3,
        "one fresh token per access token, at least one per customer: {asked}"
    );
    for out in [&fresh_run.stdout, &fresh_run.stderr] {
        assert!(!out.contains("gh-request-token-4Fq9") && !out.contains("apctl-demo-expiring-oidc"));
    }
}

/// A partner admin reaches a customer with the roles of the GDAP
/// relationship: Tailspin's grants only Global Reader, so Intune answers
/// 403 there, as the real service does, and no row is sent.
#[test]
fn a_delegated_token_without_intune_administrator_gets_403_from_intune() {
    let sim = SimProcess::start(&[crate::common::PROFILES_AT_ONCE, "--import-delay", "0s"]);
    let run = apctl_sim(
        &sim,
        &[
            "import",
            &example("tailspin-autopilot.csv"),
            "--tenant",
            "tailspintoys.onmicrosoft.com",
            "--output",
            "json",
        ],
        &[("APCTL_REFRESH_TOKEN", DEMO_REFRESH_TOKEN)],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    let cause = &report["causes"][0];
    assert!(cause["error"].as_str().unwrap().contains("403"), "{cause}");
    assert!(
        cause["hint"].as_str().unwrap().contains("Intune Administrator"),
        "{cause}"
    );
    let stats = sim.stats();
    assert!(
        stats["requests"]["graph.forbidden"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    assert!(
        stats["requests"].get("graph.import").is_none(),
        "nothing sent: {stats}"
    );
}

/// Issue #27 point 4: a pipeline variable left as written is one early
/// error naming it; an empty variable is unset, the same in every command.
#[test]
fn an_unexpanded_pipeline_variable_stops_the_run_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    // Its own state folder: the sync it records is no other test's.
    let state = dir.path().join("state");
    let args = [
        "import",
        "examples/contoso-autopilot.csv",
        "--tenant",
        "contoso.onmicrosoft.com",
        "--simulate",
        "-q",
        "--report",
        report.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ];
    let run = crate::common::apctl_env(args, &[("AZURE_TENANT_ID", "$(PARTNER_TENANT_ID)")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("AZURE_TENANT_ID is `$(PARTNER_TENANT_ID)`")
            && run.stderr.contains("PARTNER_TENANT_ID was never defined")
            && run.stderr.contains("define the variable"),
        "{}",
        run.stderr
    );
    assert!(!report.exists(), "nothing was done");
    let github = crate::common::apctl_env(
        ["tenants", "--simulate"],
        &[("AZURE_CLIENT_ID", "${{ vars.APP_ID }}")],
    );
    assert!(
        github.stderr.contains("vars.APP_ID was never defined"),
        "{}",
        github.stderr
    );
    // The same on the command line, as a script line passes it.
    let customer = crate::common::apctl_env(
        [
            "import",
            "examples/contoso-autopilot.csv",
            "--tenant",
            "$(CUSTOMER)",
            "--simulate",
        ],
        &[],
    );
    assert_eq!(customer.code, 2, "{}", customer.stderr);
    assert!(
        customer.stderr.contains("CUSTOMER was never defined"),
        "{}",
        customer.stderr
    );
    // The partner's tenant on the command line, the same.
    let partner = crate::common::apctl_env(
        [
            "import",
            "examples/contoso-autopilot.csv",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--partner-tenant",
            "$(PARTNER_TENANT_ID)",
            "--simulate",
        ],
        &[],
    );
    assert_eq!(partner.code, 2, "{}", partner.stderr);
    assert!(
        partner.stderr.contains("PARTNER_TENANT_ID was never defined"),
        "{}",
        partner.stderr
    );
    // A customer given as an empty variable is one early error with the fix.
    let blank = crate::common::apctl_env(
        [
            "import",
            "examples/contoso-autopilot.csv",
            "--tenant",
            " ",
            "--simulate",
        ],
        &[],
    );
    assert_eq!(blank.code, 2, "{}", blank.stderr);
    assert!(
        blank.stderr.contains("`--tenant` is empty") && blank.stderr.contains("undefined variable"),
        "{}",
        blank.stderr
    );
    // Empty is unset: the import runs as with no variable at all.
    let empty = crate::common::apctl_env(args, &[("AZURE_TENANT_ID", ""), ("APCTL_CLOUD", " ")]);
    assert_eq!(empty.code, 0, "{}", empty.stderr);
}
