//! `apctl doctor` through the built binary: each check in order, each
//! failure with its cause and fix.

use crate::common::{SimProcess, apctl_env, apctl_sim};

const PARTNER: &str = "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a503";
const TAILSPIN: &str = "0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e04";
const FABRIKAM: &str = "7d4e1b2c-3f5a-4e6b-8c7d-9e0f1a2b3c02";

fn steps(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["step"].as_str().unwrap().into(),
                c["outcome"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn the_demo_checks_token_graph_and_partner_center_and_skips_gdap() {
    let run = apctl_env(
        [
            "doctor",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--simulate",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["customer"], "Contoso Ltd", "the customer by name");
    let got = steps(&run.json());
    let want = [
        ("token", "ok"),
        ("graph", "ok"),
        ("gdap-role", "skipped"),
        ("partner-center", "ok"),
    ];
    assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
}

#[test]
fn app_only_credentials_skip_partner_center_and_say_what_it_needs() {
    let sim = SimProcess::start(&[]);
    let run = apctl_sim(
        &sim,
        &[
            "doctor",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    let pc = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["step"] == "partner-center")
        .unwrap();
    assert_eq!(pc["outcome"], "skipped");
    assert!(pc["detail"].as_str().unwrap().contains("apctl login"), "{pc}");
}

#[test]
fn a_customer_partner_center_does_not_list_fails_with_the_reseller_hint() {
    let run = apctl_env(
        [
            "doctor",
            "--tenant",
            "woodgrove.onmicrosoft.com",
            "--simulate",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 2);
    let doc = run.json();
    let pc = doc["checks"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (pc["step"].as_str(), pc["outcome"].as_str()),
        (Some("partner-center"), Some("failed"))
    );
    assert!(pc["hint"].as_str().unwrap().contains("indirect reseller"), "{pc}");
    let token = &doc["checks"][0];
    assert!(
        token["hint"]
            .as_str()
            .unwrap()
            .contains("https://login.microsoftonline.com/woodgrove.onmicrosoft.com/adminconsent"),
        "the consent link names the tenant: {token}"
    );
}

#[test]
fn a_delegated_token_without_intune_administrator_fails_the_gdap_step() {
    let sim = SimProcess::start(&[]);
    let env = [
        ("APCTL_REFRESH_TOKEN", "apctl-demo-refresh-token"),
        ("AZURE_CLIENT_SECRET", ""),
        ("AZURE_TENANT_ID", PARTNER),
    ];
    let run = apctl_sim(&sim, &["doctor", "--tenant", TAILSPIN, "--output", "json"], &env);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let doc = run.json();
    let gdap = &doc["checks"][2];
    assert_eq!(
        (gdap["step"].as_str(), gdap["outcome"].as_str()),
        (Some("gdap-role"), Some("failed"))
    );
    assert!(gdap["hint"].as_str().unwrap().contains("Intune Administrator"));

    // The demo partner also has an invitation without a customer
    // (`"customer": null`): the check reads past it.
    let ok = apctl_sim(&sim, &["doctor", "--tenant", FABRIKAM], &env);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert!(
        ok.stdout
            .contains("ok    gdap-role       Intune Administrator is granted in `Fabrikam onboarding`"),
        "{}",
        ok.stdout
    );
}

#[test]
fn a_wrong_secret_fails_the_token_step_with_its_fix() {
    let sim = SimProcess::start(&[]);
    let run = apctl_sim(
        &sim,
        &["doctor", "--tenant", "contoso.onmicrosoft.com"],
        &[("AZURE_CLIENT_SECRET", "nope")],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stdout.contains("FAIL  token           AADSTS7000215"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("hint: the client secret is wrong"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("skip  graph"));
}

#[test]
fn an_unconsented_tenant_and_an_expired_secret_each_get_their_fix() {
    let sim = SimProcess::start(&[]);
    let run = apctl_sim(&sim, &["doctor", "--tenant", "woodgrove.onmicrosoft.com"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stdout.contains("AADSTS700016") && run.stdout.contains("not consented in this customer tenant"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("adminconsent?client_id=6b7c8d9e-0000-4000-8000-00000000a9c1"),
        "the consent link with the app's real id: {}",
        run.stdout
    );
    let expired = apctl_sim(
        &sim,
        &["doctor", "--tenant", "contoso.onmicrosoft.com"],
        &[("AZURE_CLIENT_SECRET", "apctl-demo-expired-secret")],
    );
    assert_eq!(expired.code, 2);
    assert!(
        expired.stdout.contains("AADSTS7000222") && expired.stdout.contains("create a new secret"),
        "{}",
        expired.stdout
    );
}

#[test]
fn import_runs_the_gdap_preflight_and_sends_nothing_to_a_tenant_that_fails_it() {
    let sim = SimProcess::start(&["--import-delay", "0s"]);
    let env = [
        ("APCTL_REFRESH_TOKEN", "apctl-demo-refresh-token"),
        ("AZURE_CLIENT_SECRET", ""),
        ("AZURE_TENANT_ID", PARTNER),
    ];
    let file = crate::common::example("contoso-autopilot.csv");
    let run = apctl_sim(
        &sim,
        &["import", &file, "--tenant", TAILSPIN, "--output", "json"],
        &env,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    let error = report["tenantErrors"][0]["error"].as_str().unwrap();
    assert!(error.contains("preflight `gdap-role` failed"), "{error}");
    assert!(
        report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "not-sent")
    );
    assert_eq!(
        sim.stats()["requests"]["graph.import"],
        serde_json::Value::Null,
        "nothing was sent"
    );
    let ok = apctl_sim(
        &sim,
        &[
            "import",
            &file,
            "--tenant",
            "Fabrikam Inc",
            "--output",
            "json",
            "--dry-run",
        ],
        &env,
    );
    assert_eq!(ok.code, 0, "{}", ok.stdout);
}

/// Issue #29 point 2: `apctl doctor` with no customer is the setup check:
/// the credentials, the partner tenant, tokens, the GDAP relationships
/// with their states and roles, and every customer's reach with its fix.
#[test]
fn doctor_without_a_customer_checks_the_setup() {
    let app = crate::common::apctl(["doctor", "--simulate"]);
    assert_eq!(app.code, 0, "{}{}", app.stdout, app.stderr);
    let sim = crate::common::SimProcess::start(&[]);
    // A partner admin's sign-in (delegated): roles decide the reach.
    let delegated = crate::common::apctl_sim(
        &sim,
        &["doctor", "-o", "json"],
        &[
            ("APCTL_REFRESH_TOKEN", "apctl-demo-refresh-token"),
            ("AZURE_TENANT_ID", "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a503"),
        ],
    );
    assert_eq!(delegated.code, 0, "{}", delegated.stderr);
    let doc = delegated.json();
    let customer = |name: &str| {
        doc["customers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {doc:#}"))
            .clone()
    };
    assert_eq!(customer("Contoso Ltd")["reachable"], true);
    assert_eq!(customer("Contoso Ltd")["how"], "GDAP (Intune Administrator)");
    assert_eq!(
        customer("Tailspin Toys")["reachable"],
        false,
        "no Intune Administrator"
    );
    assert_eq!(customer("Wingtip Toys")["reachable"], false);
    // Without a partner tenant it says what to set, and fails.
    let unset = crate::common::apctl_sim(&sim, &["doctor"], &[]);
    assert_eq!(unset.code, 2, "{}", unset.stdout);
    assert!(unset.stdout.contains("set `AZURE_TENANT_ID`"), "{}", unset.stdout);
    insta::assert_snapshot!(
        "doctor_setup",
        crate::mistakes::undated(&format!("{}\n---\n{}", app.stdout, unset.stdout))
    );
}
