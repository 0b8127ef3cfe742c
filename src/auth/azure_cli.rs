//! The Azure CLI at a desk: `az account get-access-token --tenant T
//! --scope S` for each customer tenant the signed-in user can reach (a GDAP
//! user signs in once per customer with `az login --tenant`).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::{AccessToken, AuthError, TokenFuture, TokenSource};
use crate::clock::SharedClock;
use crate::secret::Secret;

/// Tokens from the Azure CLI.
#[derive(Debug)]
pub struct AzureCli {
    program: PathBuf,
    clock: SharedClock,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    access_token: String,
    /// Unix seconds (Azure CLI 2.54 and later).
    #[serde(rename = "expires_on")]
    expires_on: Option<i64>,
}

impl AzureCli {
    /// Runs `program` (normally `az`).
    pub fn new(program: PathBuf, clock: SharedClock) -> Self {
        Self { program, clock }
    }

    fn error(&self, tenant: &str, summary: String, hint: String) -> AuthError {
        AuthError {
            tenant: tenant.to_owned(),
            aadsts: None,
            error: "azure_cli".into(),
            summary,
            hint,
            trace_id: None,
        }
    }
}

impl TokenSource for AzureCli {
    fn fetch<'a>(&'a self, tenant: &'a str, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let program = self.program.clone();
            // `organizations`: the signed-in account's own tenant, which the
            // CLI picks when no tenant is named.
            let home = matches!(tenant, "organizations" | "common");
            let mut args: Vec<String> = ["account", "get-access-token"].map(str::to_owned).to_vec();
            if !home {
                args.extend(["--tenant".to_owned(), tenant.to_owned()]);
            }
            args.extend(["--scope", scope, "--output", "json"].map(str::to_owned));
            let output =
                tokio::task::spawn_blocking(move || std::process::Command::new(program).args(args).output())
                    .await
                    .map_err(|e| {
                        self.error(
                            tenant,
                            format!("the Azure CLI did not run: {e}"),
                            "install the Azure CLI".into(),
                        )
                    })?
                    .map_err(|e| {
                        self.error(
                            tenant,
                            format!("cannot run `{}`: {e}", self.program.display()),
                            "install the Azure CLI, or set `APCTL_AZURE_CLI` to its path".into(),
                        )
                    })?;
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let first = stderr
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no message")
                    .trim();
                let first: String = first.chars().filter(|c| !c.is_control()).take(300).collect();
                return Err(self.error(
                    tenant,
                    format!("the Azure CLI could not get a token: {first}"),
                    format!("run `az login --tenant {tenant}` with an account that can reach this customer"),
                ));
            }
            let answer: Answer = serde_json::from_slice(&output.stdout).map_err(|_| {
                self.error(
                    tenant,
                    "the Azure CLI's answer is not the expected JSON".into(),
                    "update the Azure CLI".into(),
                )
            })?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs() as i64;
            let life = answer
                .expires_on
                .map_or(3000, |e| e.saturating_sub(now))
                .clamp(0, super::MAX_TOKEN_LIFE as i64) as u64;
            Ok(AccessToken {
                token: Secret::new(answer.access_token),
                expires_at: self.clock.now() + Duration::from_secs(life),
            })
        })
    }
}
