//! `apctl tenants` against the simulator's demo partner.

use crate::common::apctl_env;

#[test]
fn lists_gdap_relationships_with_roles_and_expiry() {
    let run = apctl_env(["tenants", "--simulate", "--output", "json"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    let rows = doc["relationships"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
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
