//! `apctl login`: signs a partner admin in with a device code and saves the
//! refresh token that the Secure Application Model runs on.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::cli::exit::Exit;
use crate::cli::settings::{self, EndpointArgs};
use apctl::auth::{Login, write_private};
use apctl::clock::ScaledClock;
use apctl::simulator::{self, SimConfig, Simulator};
use apctl::transport;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Write the refresh token here (owner-only); use it later with
    /// `--refresh-token-file`.
    #[arg(long, value_name = "PATH")]
    save: PathBuf,
    /// The partner tenant to sign in to (default: any work account).
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT", value_parser = crate::cli::settings::partner_tenant_value)]
    partner_tenant: Option<String>,
    /// Sign in to the built-in simulator's demo partner.
    #[arg(long)]
    simulate: bool,
    #[command(flatten)]
    endpoints: EndpointArgs,
}

/// Runs the sign-in.
pub fn run(args: LoginArgs) -> anyhow::Result<Exit> {
    let mut endpoints = args.endpoints.resolve()?;
    let client_id = match (
        std::env::var("AZURE_CLIENT_ID")
            .ok()
            .filter(|v| !v.trim().is_empty()),
        args.simulate,
    ) {
        (_, true) => simulator::demo_world().client_id,
        (Some(id), false) => id.trim().to_owned(),
        (None, false) => {
            anyhow::bail!("set `AZURE_CLIENT_ID` to the partner's app (the Secure Application Model app)")
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let clock = ScaledClock::scaled(if args.simulate { 0.0 } else { 1.0 });
        let mut tenant = args
            .partner_tenant
            .clone()
            .map(|t| settings::check_tenant(&t))
            .transpose()?
            .unwrap_or_else(|| "organizations".into());
        let _sim = if args.simulate {
            let world = simulator::demo_world();
            tenant = world.partner_tenant_id.clone().unwrap_or(tenant);
            let s = Simulator::start(world, SimConfig::default(), clock.clone(), 0).await?;
            endpoints = s.endpoints();
            Some(s)
        } else {
            None
        };
        let http = transport::reqwest_client_with_timeout(Duration::from_secs(60));
        let scope = format!("{} offline_access", endpoints.graph_scope);
        let login = Login {
            http: &http,
            authority: &endpoints.authority,
            tenant: &tenant,
            client_id: &client_id,
            scope: &scope,
            clock: &clock,
        };
        let token = login
            .run(|code| {
                let text = code.message.clone().unwrap_or_else(|| {
                    format!(
                        "Open {} and enter the code {}",
                        code.verification_uri, code.user_code
                    )
                });
                crate::cli::term::err_line(&text);
                crate::cli::term::err_line("waiting for the sign-in (Ctrl-C to cancel)…");
            })
            .await
            .map_err(|e| crate::cli::hinted!(e.hint.clone(), "{e}"))?;
        settings::ensure_parent(&args.save)?;
        write_private(&args.save, token.expose())
            .with_context(|| format!("cannot write `{}`", args.save.display()))?;
        crate::cli::term::out(&format!(
            "signed in; the refresh token is in `{}` (readable by you only)\n\
             use it with: apctl import … --refresh-token-file {} --save-refresh-token\n",
            args.save.display(),
            args.save.display()
        ))?;
        Ok(Exit::Success)
    })
}
