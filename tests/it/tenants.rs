//! `apctl tenants` against the simulator's demo partner.

use crate::common::apctl_env;

#[test]
fn lists_gdap_relationships_with_roles_and_expiry() {
    let run = apctl_env(["tenants", "--simulate", "--output", "json"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    let rows = doc["relationships"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    let by = |name: &str| rows.iter().find(|r| r["customer"] == name).unwrap();
    assert_eq!(by("Contoso Ltd")["intuneAdministrator"], true);
    assert_eq!(by("Contoso Ltd")["autoExtend"], true);
    assert_eq!(by("Contoso Ltd")["expiresInDays"], serde_json::Value::Null);
    assert_eq!(by("Fabrikam Inc")["expiresInDays"], 12);
    assert_eq!(by("Tailspin Toys")["intuneAdministrator"], false);
    assert_eq!(by("Wingtip Toys")["status"], "expired");
    assert_eq!(
        by("Wingtip Toys")["expiresInDays"],
        serde_json::Value::Null,
        "only active relationships are flagged"
    );
    assert_eq!(by("Adatum Corp")["reseller"], true);

    let human = apctl_env(["tenants", "--simulate"], &[]);
    assert!(
        human.stdout.contains(
            "warning: the relationship with `Fabrikam Inc` ends in 12 days; it does not extend itself"
        ),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("note: `Tailspin Toys` does not grant Intune Administrator")
    );
}

#[test]
fn needs_the_partner_tenant() {
    let run = apctl_env(
        ["tenants"],
        &[("AZURE_CLIENT_ID", "x"), ("AZURE_CLIENT_SECRET", "y")],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("AZURE_TENANT_ID"), "{}", run.stderr);
}

/// A pending invitation created without a customer (`"customer": null`,
/// `"displayName": null`) is listed as such, and never breaks the commands
/// that read relationships.
#[test]
fn a_relationship_without_a_customer_is_pending_and_breaks_nothing() {
    let run = apctl_env(["tenants", "--simulate", "--output", "json"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    let pending: Vec<_> = doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["customer"] == "(no customer yet)")
        .collect();
    assert_eq!(pending.len(), 1, "{doc}");
    assert_eq!(pending[0]["status"], "approvalPending");
    assert_eq!(pending[0]["tenantId"], "");

    // A customer named by its GDAP name still resolves to its tenant.
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let import = apctl_env(
        [
            "import",
            &crate::common::example("contoso-autopilot.csv"),
            "--tenant",
            "Contoso Ltd",
            "--simulate",
            "-q",
            "--report",
            report.to_str().unwrap(),
        ],
        &[("APCTL_TIME_SCALE", "0")],
    );
    assert_eq!(import.code, 0, "{}", import.stderr);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        report["tenants"][0]["tenant"],
        "2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01"
    );

    // An empty name matches no relationship, not the one without a name.
    let nobody = apctl_env(
        [
            "import",
            &crate::common::example("contoso-autopilot.csv"),
            "--tenant",
            "(no customer yet)",
            "--simulate",
        ],
        &[("APCTL_TIME_SCALE", "0")],
    );
    assert_ne!(nobody.code, 0);
    assert!(
        nobody
            .stdout
            .contains("no GDAP relationship has a customer named"),
        "{}",
        nobody.stdout
    );
}

#[test]
fn a_misspelt_customer_name_sends_nothing_and_names_the_close_customers() {
    for typed in ["Contoso", "contosso"] {
        let run = apctl_env(
            [
                "import",
                &crate::common::example("contoso-autopilot.csv"),
                "--tenant",
                typed,
                "--simulate",
                "--output",
                "json",
            ],
            &[("APCTL_TIME_SCALE", "0")],
        );
        assert_eq!(run.code, 2, "{}", run.stderr);
        let report = run.json();
        let sent = report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "sent")
            .count();
        assert_eq!(sent, 0);
        let cause = report["causes"].to_string();
        assert!(
            cause.contains("close: `Contoso Ltd` (2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01)")
                && cause.contains("apctl tenants"),
            "{typed}: {cause}"
        );
    }
}

/// A partner tenant that refuses the GDAP list says what reading it takes:
/// the permission, for app-only tokens the Partner Customer Delegated
/// Administration service principal, and the global cloud.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_gdap_list_says_what_it_takes() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "tok-abcdefgh"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("delegatedAdminRelationships"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            serde_json::json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}),
        ))
        .mount(&server)
        .await;
    let uri = server.uri();
    let run = tokio::task::spawn_blocking(move || {
        apctl_env(
            ["tenants"],
            &[
                ("APCTL_GRAPH_URL", uri.as_str()),
                ("AZURE_AUTHORITY_HOST", uri.as_str()),
                ("AZURE_CLIENT_ID", "app"),
                ("AZURE_CLIENT_SECRET", "app-secret-value"),
                ("AZURE_TENANT_ID", "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a503"),
            ],
        )
    })
    .await
    .unwrap();
    assert_ne!(run.code, 0);
    for needed in [
        "DelegatedAdminRelationship.Read.All",
        "2832473f-ec63-45fb-976f-5d45a7d4bb91",
        "global cloud",
    ] {
        assert!(run.stderr.contains(needed), "{needed}: {}", run.stderr);
    }
}
