//! Help that teaches (issue #29): every option under a heading (Input,
//! Customers, Waiting, Output files, Authentication, Endpoints, Tuning,
//! Output, …), `-h` one line per option (the first sentence of its help)
//! and `--help` the whole text, examples at the end of every command's long
//! help, and the same for the man pages. Applied once to clap's command
//! tree, so the options' own doc comments stay the one place their help is
//! written.

use clap::{Arg, Command};

/// The heading an option is shown under, by its id.
fn heading(id: &str) -> Option<&'static str> {
    Some(match id {
        "files" | "manifest" | "retry_failed" | "strict" | "list" | "order_id" | "group_tag" | "dry_run"
        | "reports" | "allow_missing" => "Input",
        "tenant" | "partner_tenant" | "max_tenants" | "shard" | "all" | "serial" | "state" => "Customers",
        "wait"
        | "no_wait"
        | "timeout"
        | "poll_interval"
        | "max_poll_interval"
        | "grace"
        | "wait_for_other_runs"
        | "no_wait_profile"
        | "wait_profile"
        | "no_sync" => "Waiting",
        "report" | "report_csv" | "summary" | "html" | "junit" | "customer_html" | "from" | "save" => {
            "Output files"
        }
        "refresh_token_file"
        | "save_refresh_token"
        | "azure_cli"
        | "managed_identity"
        | "managed_identity_client_id"
        | "simulate" => "Authentication",
        "cloud" | "graph_url" | "authority_host" | "partner_center_url" => "Endpoints",
        "chunk_size" | "concurrency" | "write_budget" | "request_budget" | "http_timeout" | "time_scale"
        | "state_dir" => "Tuning",
        "apply" | "prune" | "force" | "yes" | "max_delete" | "handoff" => "Changes",
        "port"
        | "seed"
        | "import_delay"
        | "batch_delay"
        | "latency"
        | "throttle"
        | "write_limit"
        | "request_limit"
        | "retry_after"
        | "fault_rate"
        | "slow_rate"
        | "drop_rate"
        | "fault_after_write_rate"
        | "world"
        | "page_size"
        | "hold"
        | "keep_import_id"
        | "profile_delay"
        | "no_profile"
        | "strict_batch_add" => "Simulator",
        "output" | "quiet" | "verbose" | "color" | "dir" => "Output",
        _ => return None,
    })
}

/// Examples for a command's long help (and its man page), by its name.
fn examples(name: &str) -> Option<&'static str> {
    Some(match name {
        "validate" => {
            "  apctl validate supplier.csv                 # every row, offline\n\
             \x20 apctl validate --strict supplier.csv        # as the portal would take it\n\
             \x20 apctl validate -o json a.csv b.csv          # for a script"
        }
        "import" => {
            "  apctl import devices.csv --tenant contoso.onmicrosoft.com --dry-run\n\
             \x20 apctl import devices.csv --tenant \"Contoso Ltd\" --html report.html\n\
             \x20 apctl import --manifest customers.toml --report run.json --customer-html customers\n\
             \x20 apctl import --retry-failed run.json       # the rows that failed or were not sent\n\
             \x20 apctl import examples/contoso-autopilot.csv --tenant contoso.onmicrosoft.com --simulate"
        }
        "simulate" => {
            "  apctl simulate --port 8080                  # then point APCTL_GRAPH_URL at it\n\
             \x20 apctl simulate --throttle --fault-rate 0.1  # a hard day"
        }
        "tenants" => {
            "  apctl tenants                               # every GDAP relationship and its roles\n\
             \x20 apctl tenants -o json"
        }
        "doctor" => {
            "  apctl doctor                                # the setup: credentials, partner, customers\n\
             \x20 apctl doctor --tenant contoso.onmicrosoft.com"
        }
        "login" => "  apctl login --save partner.rt               # once, as a partner admin",
        "status" => {
            "  apctl status --tenant contoso.onmicrosoft.com\n\
             \x20 apctl status --all --state \"Registration failed\"\n\
             \x20 apctl status --tenant \"Contoso Ltd\" --serial PC-0001,PC-0002 -o csv"
        }
        "reconcile" => {
            "  apctl reconcile purchases.csv --tenant contoso.onmicrosoft.com\n\
             \x20 apctl reconcile --manifest customers.toml --apply"
        }
        "cleanup" => {
            "  apctl cleanup --tenant contoso.onmicrosoft.com --dry-run\n\
             \x20 apctl cleanup --all"
        }
        "merge" => {
            "  apctl report merge report-*.json --report merged.json --html report.html\n\
             \x20 apctl report merge report-*.json --allow-missing --customer-html customers"
        }
        "completions" => {
            "  bash:        apctl completions bash > ~/.local/share/bash-completion/completions/apctl\n\
             \x20 zsh:         apctl completions zsh > ~/.zfunc/_apctl   (with `fpath+=~/.zfunc` before `compinit` in ~/.zshrc)\n\
             \x20 fish:        apctl completions fish > ~/.config/fish/completions/apctl.fish\n\
             \x20 PowerShell:  apctl completions powershell >> $PROFILE\n\
             \x20 elvish:      apctl completions elvish > ~/.config/elvish/lib/apctl.elv   (and `use apctl` in rc.elv)"
        }
        "man" => {
            "  apctl man | man -l -                        # apctl(1)\n\
             \x20 apctl man import | man -l -                 # apctl-import(1)\n\
             \x20 apctl man --dir ~/.local/share/man/man1     # every page, for `man apctl-import`"
        }
        _ => return None,
    })
}

/// The first sentence of a help text: up to the first `. ` (or all of it).
fn first_sentence(text: &str) -> &str {
    let mut from = 0;
    while let Some(i) = text[from..].find(". ") {
        let end = from + i;
        // `e.g. x` and `i.e. x` do not end a sentence.
        if !text[..end].ends_with("e.g") && !text[..end].ends_with("i.e") {
            return &text[..=end];
        }
        from = end + 2;
    }
    text
}

/// The short help: the first sentence, and of a long one its first clause
/// (up to `; `, `: ` or ` (`), without the full stop; `--help` has it all.
fn short_help(text: &str) -> &str {
    let mut short = first_sentence(text);
    if short.len() > 64
        && let Some(i) = [": ", "; ", " ("]
            .iter()
            .filter_map(|p| short.find(p))
            .filter(|&i| i >= 24)
            .min()
    {
        short = &short[..i];
    }
    short.trim_end_matches('.')
}

fn shape(arg: Arg) -> Arg {
    let mut arg = arg;
    if arg.get_help_heading().is_none()
        && let Some(h) = heading(arg.get_id().as_str())
    {
        arg = arg.help_heading(h);
    }
    if arg.get_long_help().is_none()
        && let Some(help) = arg.get_help().map(ToString::to_string)
    {
        let short = short_help(&help).to_owned();
        if short.len() < help.len() {
            arg = arg.help(short).long_help(help);
        }
    }
    arg
}

/// The command tree with headings, short and long help, and examples.
pub fn teach(cmd: Command) -> Command {
    let mut cmd = cmd.mut_args(shape);
    if let Some(text) = examples(cmd.get_name()) {
        let after = match cmd.get_after_long_help().or(cmd.get_after_help()) {
            Some(more) => format!("Examples:\n{text}\n\n{more}"),
            None => format!("Examples:\n{text}"),
        };
        // The examples and the longer notes are for `--help`; `-h` stays short.
        cmd = cmd.after_long_help(after).after_help("Examples and more: --help");
    }
    let subs: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_owned()).collect();
    for name in subs {
        cmd = cmd.mut_subcommand(name, teach);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_first_sentence_is_cut_at_its_first_clause() {
        assert_eq!(
            short_help(
                "The customer of the files' rows that have no `Tenant` cell: tenant id, verified domain, or GDAP display name"
            ),
            "The customer of the files' rows that have no `Tenant` cell"
        );
        assert_eq!(short_help("Devices per import call"), "Devices per import call");
    }

    #[test]
    fn the_first_sentence_is_the_short_help() {
        assert_eq!(first_sentence("One. Two."), "One.");
        assert_eq!(first_sentence("Give e.g. this. Then"), "Give e.g. this.");
        assert_eq!(first_sentence("No full stop"), "No full stop");
    }
}
