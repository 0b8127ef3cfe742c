//! `apctl status` through the built binary against the simulator: the
//! portal's states for registered devices (with the 7-day rule) and for
//! devices staged by an import, filters, `--all`, and the three formats.

use crate::common::{SimProcess, apctl_env, apctl_sim, by_serial, example};

#[test]
fn registered_and_staged_devices_show_in_the_portals_states() {
    let sim = SimProcess::start(&["--import-delay", "0s"]);
    let import = apctl_sim(
        &sim,
        &[
            "import",
            &example("fabrikam-every-state.csv"),
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--no-wait",
            "--quiet",
        ],
        &[],
    );
    assert_eq!(import.code, 1, "{}", import.stderr);
    let run = apctl_sim(
        &sim,
        &[
            "status",
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(by_serial(&doc, "devices", "FAB-0001")["state"], "Ready for user");
    assert_eq!(by_serial(&doc, "devices", "FAB-0006")["state"], "Active");
    assert_eq!(
        by_serial(&doc, "devices", "FAB-0007")["state"],
        "Inactive",
        "enrolled, last contact 45 days ago"
    );
    let claimed = by_serial(&doc, "devices", "FAB-0002");
    assert_eq!(claimed["state"], "Registration failed");
    assert_eq!(claimed["message"], "Device claimed by another organization");
    assert_eq!(claimed["source"], "import");
    assert_eq!(
        by_serial(&doc, "devices", "FAB-0005")["state"],
        "Registration pending"
    );
    assert_eq!(by_serial(&doc, "devices", "FAB-0006")["groupTag"], "Lab");
    assert_eq!(by_serial(&doc, "devices", "FAB-0006")["model"], "Book 3");

    let filtered = apctl_sim(
        &sim,
        &[
            "status",
            "--tenant",
            "fabrikam.onmicrosoft.com",
            "--state",
            "registration-failed",
            "--serial",
            "FAB-0002",
            "--serial",
            "FAB-0006",
            "--output",
            "csv",
        ],
        &[],
    );
    assert_eq!(filtered.code, 0);
    let lines: Vec<&str> = filtered.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "header and FAB-0002 only: {}", filtered.stdout);
    assert!(lines[0].starts_with("tenant,customer,serialNumber,state,message,groupTag,orderId"));
    assert!(
        lines[1].contains("Fabrikam Inc,FAB-0002,Registration failed,Device claimed by another organization"),
        "{}",
        lines[1]
    );
}

#[test]
fn all_covers_every_customer_with_an_active_relationship() {
    let run = apctl_env(["status", "--all", "--simulate"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("CTS-0003") && run.stdout.contains("FAB-0006") && run.stdout.contains("TSP-0100"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.trim_end().ends_with("5 devices"), "{}", run.stdout);
    let active = apctl_env(
        [
            "status",
            "--all",
            "--simulate",
            "--state",
            "active",
            "--output",
            "json",
        ],
        &[],
    );
    let doc = active.json();
    let serials: Vec<&str> = doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["serialNumber"].as_str().unwrap())
        .collect();
    assert_eq!(serials, ["CTS-0003", "FAB-0006"]);
}

#[test]
fn a_customer_that_cannot_be_read_is_named_and_the_exit_code_says_so() {
    let run = apctl_env(
        ["status", "--tenant", "woodgrove.onmicrosoft.com", "--simulate"],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("woodgrove.onmicrosoft.com") && run.stderr.contains("AADSTS700016"),
        "{}",
        run.stderr
    );
}
