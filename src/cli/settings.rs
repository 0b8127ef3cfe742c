//! From what the user typed to validated settings, before any network I/O:
//! endpoints checked (https, or http to loopback only), durations parsed,
//! credentials read from the environment (never from a flag value).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use apctl::input::tenant::TenantRef;
use clap::Args;

use apctl::auth::{GitHubSettings, IdentityHost, PipelineSettings, RefreshTokenSettings};
use apctl::net::endpoint::{self, Cloud, Endpoints};
use apctl::secret::Secret;

/// A Microsoft cloud, as typed.
#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum CloudArg {
    #[default]
    Public,
    Usgov,
    UsgovDod,
    China,
}

/// Where the services are. Tests and the simulator point these elsewhere.
#[derive(Debug, Args, Clone)]
pub struct EndpointArgs {
    /// The Microsoft cloud: sets the token authority, the Graph and Partner
    /// Center hosts and their token scopes together (explicit URL settings
    /// still win; scopes stay the cloud's).
    #[arg(long, value_enum, env = "APCTL_CLOUD", default_value = "public")]
    pub cloud: CloudArg,
    /// Microsoft Graph root; apctl appends `/v1.0/…`.
    #[arg(long, env = "APCTL_GRAPH_URL", value_name = "URL")]
    pub graph_url: Option<String>,
    /// Token authority; tokens come from `{host}/{tenant}/oauth2/v2.0/token`.
    #[arg(long, env = "AZURE_AUTHORITY_HOST", value_name = "URL")]
    pub authority_host: Option<String>,
    /// Partner Center root; apctl appends `/v1/…`.
    #[arg(long, env = "APCTL_PARTNER_CENTER_URL", value_name = "URL")]
    pub partner_center_url: Option<String>,
}

impl EndpointArgs {
    /// Checks and resolves the endpoints.
    pub fn resolve(&self) -> anyhow::Result<Endpoints> {
        let cloud = match self.cloud {
            CloudArg::Public => Cloud::Public,
            CloudArg::Usgov => Cloud::UsGov,
            CloudArg::UsgovDod => Cloud::UsGovDod,
            CloudArg::China => Cloud::China,
        };
        let mut e = cloud.endpoints();
        if let Some(v) = &self.graph_url {
            e.graph = endpoint::parse("--graph-url / APCTL_GRAPH_URL", v)?;
        }
        if let Some(v) = &self.authority_host {
            e.authority = endpoint::parse("--authority-host / AZURE_AUTHORITY_HOST", v)?;
        }
        if let Some(v) = &self.partner_center_url {
            e.partner_center = endpoint::parse("--partner-center-url / APCTL_PARTNER_CENTER_URL", v)?;
        }
        Ok(e)
    }
}

/// How to authenticate, beyond what the environment says.
#[derive(Debug, Args, Clone)]
pub struct CredentialArgs {
    /// Secure Application Model: read the partner admin's refresh token
    /// from this file (or set `APCTL_REFRESH_TOKEN`). `AZURE_CLIENT_ID` names
    /// the partner's app; `AZURE_CLIENT_SECRET`, if set, is sent with it.
    #[arg(long, value_name = "PATH")]
    pub refresh_token_file: Option<PathBuf>,
    /// Write the refresh token the service hands back into
    /// `--refresh-token-file`, atomically and readable by the owner only.
    #[arg(long, requires = "refresh_token_file")]
    pub save_refresh_token: bool,
    /// Take tokens from the signed-in Azure CLI (`az account get-access-token`)
    /// instead of the environment's app credentials.
    #[arg(long, env = "APCTL_USE_AZURE_CLI")]
    pub azure_cli: bool,
    /// Prove the partner's app (`AZURE_CLIENT_ID`) with this host's managed
    /// identity, added to the app as a federated credential: for
    /// self-hosted agents and runners on Azure VMs, App Service or
    /// Container Apps. No secret is stored.
    #[arg(long, env = "APCTL_MANAGED_IDENTITY")]
    pub managed_identity: bool,
    /// A user-assigned managed identity's client id (implies
    /// `--managed-identity`); without it the system-assigned one is used.
    #[arg(long, env = "APCTL_MANAGED_IDENTITY_CLIENT_ID", value_name = "ID")]
    pub managed_identity_client_id: Option<String>,
}

/// The credential mode chosen.
pub enum Credentials {
    /// App + client secret.
    ClientSecret(String, Secret),
    /// Secure Application Model.
    RefreshToken(RefreshTokenSettings),
    /// Workload identity federation: app id and the federated token file.
    Federated(String, PathBuf),
    /// App + certificate: app id and the PEM file.
    /// With the PFX password from `AZURE_CLIENT_CERTIFICATE_PASSWORD`.
    Certificate(String, PathBuf, Option<Secret>),
    /// The Azure CLI (`APCTL_AZURE_CLI` names the program, default `az`).
    AzureCli(PathBuf),
    /// A managed identity as the app's federated credential: the app id,
    /// the host's token endpoint and a user-assigned identity's client id.
    ManagedIdentity(String, IdentityHost, Option<String>),
    /// An Azure DevOps service connection (workload identity federation):
    /// the app id and what the job provides.
    Pipelines(String, PipelineSettings),
    /// GitHub Actions' OIDC endpoint (workload identity federation): the app
    /// id and what the runner provides; a fresh token for every access token.
    GitHubActions(String, GitHubSettings),
}

impl Credentials {
    /// The mode in words, for `-v`: what was picked and from what (never a
    /// secret's value).
    pub fn describe(&self) -> String {
        match self {
            Self::ClientSecret(id, _) => {
                format!("app {id} with a client secret (AZURE_CLIENT_ID + AZURE_CLIENT_SECRET)")
            }
            Self::RefreshToken(r) => {
                let secret = if r.client_secret.is_some() {
                    "; AZURE_CLIENT_SECRET is also set and is sent with it as the app's secret"
                } else {
                    ""
                };
                format!(
                    "a partner admin's refresh token for app {} (Secure Application Model: a refresh token wins over an app secret){secret}",
                    r.client_id
                )
            }
            Self::Federated(id, file) => format!(
                "app {id} with a federated token from `{}` (AZURE_FEDERATED_TOKEN_FILE)",
                file.display()
            ),
            Self::Certificate(id, file, _) => format!(
                "app {id} with the certificate `{}` (AZURE_CLIENT_CERTIFICATE_PATH)",
                file.display()
            ),
            Self::AzureCli(program) => format!("the signed-in Azure CLI (`{}`)", program.display()),
            Self::ManagedIdentity(id, _, identity) => format!(
                "app {id} proven by this host's {} managed identity",
                if identity.is_some() {
                    "user-assigned"
                } else {
                    "system-assigned"
                }
            ),
            Self::GitHubActions(id, _) => format!(
                "app {id} with a fresh GitHub Actions OIDC token for every access token (ACTIONS_ID_TOKEN_REQUEST_URL)"
            ),
            Self::Pipelines(id, p) => format!(
                "app {id} through the Azure DevOps service connection {}",
                p.service_connection_id
            ),
        }
    }
}

/// Chooses the credential mode from the flags and the environment: a
/// refresh token (file or `APCTL_REFRESH_TOKEN`) means the Secure
/// Application Model; otherwise app + client secret.
pub fn credentials(args: &CredentialArgs) -> anyhow::Result<Credentials> {
    if args.azure_cli {
        let program = std::env::var("APCTL_AZURE_CLI")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "az".into());
        return Ok(Credentials::AzureCli(PathBuf::from(program)));
    }
    if args.managed_identity || args.managed_identity_client_id.is_some() {
        return managed_identity_from_env(args.managed_identity_client_id.clone());
    }
    let refresh = refresh_token(args)?;
    if let Some((id, p)) = pipeline_from_env()? {
        return Ok(Credentials::Pipelines(id, p));
    }
    let Some(refresh) = refresh else {
        let certificate = std::env::var("AZURE_CLIENT_CERTIFICATE_PATH")
            .ok()
            .filter(|v| !v.trim().is_empty());
        if let (Some(path), Ok(id)) = (certificate, std::env::var("AZURE_CLIENT_ID")) {
            let password = std::env::var("AZURE_CLIENT_CERTIFICATE_PASSWORD")
                .ok()
                .map(Secret::new);
            return Ok(Credentials::Certificate(
                id.trim().to_owned(),
                PathBuf::from(path),
                password,
            ));
        }
        if let Some(github) = github_from_env()? {
            return Ok(github);
        }
        let federated = std::env::var("AZURE_FEDERATED_TOKEN_FILE")
            .ok()
            .filter(|v| !v.trim().is_empty());
        if let (Some(file), Ok(id)) = (federated, std::env::var("AZURE_CLIENT_ID")) {
            return Ok(Credentials::Federated(id.trim().to_owned(), PathBuf::from(file)));
        }
        let (id, secret) = client_secret_from_env()?;
        return Ok(Credentials::ClientSecret(id, secret));
    };
    let Some(client_id) = std::env::var("AZURE_CLIENT_ID")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        bail!(
            "a refresh token was given but no app: set `AZURE_CLIENT_ID` to the partner app the token was issued to"
        );
    };
    Ok(Credentials::RefreshToken(RefreshTokenSettings {
        client_id: client_id.trim().to_owned(),
        client_secret: std::env::var("AZURE_CLIENT_SECRET")
            .ok()
            .filter(|v| !v.is_empty())
            .map(Secret::new),
        refresh_token: Secret::new(refresh.trim()),
        save_to: args
            .save_refresh_token
            .then(|| args.refresh_token_file.clone())
            .flatten(),
    }))
}

/// The partner admin's refresh token, from `--refresh-token-file` or
/// `APCTL_REFRESH_TOKEN`.
fn refresh_token(args: &CredentialArgs) -> anyhow::Result<Option<String>> {
    let from_file = match &args.refresh_token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the refresh token file `{}`", path.display()))?;
            Some(text.trim().to_owned())
        }
        None => None,
    };
    Ok(from_file
        .or_else(|| std::env::var("APCTL_REFRESH_TOKEN").ok())
        .filter(|t| !t.trim().is_empty()))
}

/// Partner Center's sign-in beside app-only credentials: a partner admin's
/// refresh token for the same app, given as well (an Azure DevOps service
/// connection wins over a refresh token for Graph, and Partner Center's
/// device batches take only app + user tokens). `None` when the mode
/// already signs a partner admin in, or no refresh token was given.
pub fn partner_sign_in(
    args: &CredentialArgs,
    credentials: &Credentials,
) -> anyhow::Result<Option<RefreshTokenSettings>> {
    let (client_id, client_secret) = match credentials {
        Credentials::RefreshToken(_) | Credentials::AzureCli(_) => return Ok(None),
        Credentials::ClientSecret(id, secret) => (id, Some(secret.clone())),
        Credentials::Federated(id, _)
        | Credentials::Certificate(id, _, _)
        | Credentials::ManagedIdentity(id, _, _)
        | Credentials::Pipelines(id, _)
        | Credentials::GitHubActions(id, _) => (id, None),
    };
    Ok(refresh_token(args)?.map(|refresh| RefreshTokenSettings {
        client_id: client_id.clone(),
        client_secret,
        refresh_token: Secret::new(refresh.trim()),
        save_to: args
            .save_refresh_token
            .then(|| args.refresh_token_file.clone())
            .flatten(),
    }))
}

/// An Azure DevOps service connection, when the job exposes one:
/// `SYSTEM_OIDCREQUESTURI` and `SYSTEM_ACCESSTOKEN` from the job, the
/// connection id from `AZURESUBSCRIPTION_SERVICE_CONNECTION_ID` (as the
/// AzureCLI task sets it) or `APCTL_SERVICE_CONNECTION_ID`, and the app from
/// `AZURESUBSCRIPTION_CLIENT_ID` or `AZURE_CLIENT_ID`.
fn pipeline_from_env() -> anyhow::Result<Option<(String, PipelineSettings)>> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let (Some(uri), Some(connection)) = (
        var("SYSTEM_OIDCREQUESTURI"),
        var("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID").or_else(|| var("APCTL_SERVICE_CONNECTION_ID")),
    ) else {
        return Ok(None);
    };
    let Some(token) = var("SYSTEM_ACCESSTOKEN") else {
        return Err(crate::cli::hinted!(
            "add `env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)` to the step",
            "an Azure DevOps service connection was found but no `SYSTEM_ACCESSTOKEN`"
        ));
    };
    let Some(client_id) = var("AZURESUBSCRIPTION_CLIENT_ID").or_else(|| var("AZURE_CLIENT_ID")) else {
        bail!("an Azure DevOps service connection was found but no app id: set `AZURE_CLIENT_ID`");
    };
    let settings = PipelineSettings {
        oidc_request_uri: endpoint::parse("SYSTEM_OIDCREQUESTURI", uri.trim())?,
        service_connection_id: connection.trim().to_owned(),
        system_access_token: Secret::new(token.trim()),
    };
    Ok(Some((client_id.trim().to_owned(), settings)))
}

/// GitHub Actions' OIDC endpoint, when the job may use it (`permissions:
/// id-token: write` sets both variables) and an app is named.
fn github_from_env() -> anyhow::Result<Option<Credentials>> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let (Some(url), Some(token)) = (
        var("ACTIONS_ID_TOKEN_REQUEST_URL"),
        var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) else {
        return Ok(None);
    };
    let Some(app) = var("AZURE_CLIENT_ID") else {
        return Ok(None);
    };
    Ok(Some(Credentials::GitHubActions(
        app.trim().to_owned(),
        GitHubSettings {
            request_url: endpoint::parse("ACTIONS_ID_TOKEN_REQUEST_URL", url.trim())?,
            request_token: Secret::new(token.trim()),
        },
    )))
}

/// The managed identity mode: the app from `AZURE_CLIENT_ID`, the host from
/// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` where the platform sets them, else
/// the Instance Metadata Service.
fn managed_identity_from_env(identity: Option<String>) -> anyhow::Result<Credentials> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let Some(app) = var("AZURE_CLIENT_ID") else {
        bail!(
            "`--managed-identity` proves an app, and no app was named: set `AZURE_CLIENT_ID` to the partner's multi-tenant app that has this identity as a federated credential"
        );
    };
    let host = match (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER")) {
        (Some(endpoint), Some(header)) => IdentityHost::AppService {
            endpoint: endpoint::parse("IDENTITY_ENDPOINT", endpoint.trim())?,
            header: Secret::new(header.trim()),
        },
        _ => IdentityHost::Imds,
    };
    let identity = identity.map(|i| i.trim().to_owned()).filter(|i| !i.is_empty());
    Ok(Credentials::ManagedIdentity(
        app.trim().to_owned(),
        host,
        identity,
    ))
}

/// How apctl picks its credentials, in the order it looks: for `--help`
/// and for the error when none is complete.
pub const AUTH_MODES: &str = "\
Authentication: apctl takes the first of these that is set.
  --azure-cli                        the signed-in Azure CLI (`az login`)
  --managed-identity                 this host's managed identity, proving AZURE_CLIENT_ID
  SYSTEM_OIDCREQUESTURI + a service connection id
                                     an Azure DevOps service connection (workload identity)
  APCTL_REFRESH_TOKEN or --refresh-token-file, with AZURE_CLIENT_ID
                                     a partner admin's refresh token (Secure Application
                                     Model, for GDAP; `apctl login` gets one)
  AZURE_CLIENT_CERTIFICATE_PATH + AZURE_CLIENT_ID
                                     an app with a certificate
  AZURE_FEDERATED_TOKEN_FILE + AZURE_CLIENT_ID, or ACTIONS_ID_TOKEN_REQUEST_URL
                                     workload identity federation (GitHub Actions, Kubernetes)
  AZURE_CLIENT_ID + AZURE_CLIENT_SECRET
                                     an app with a secret, consented in the customer tenant
  --simulate                         no tenant: the built-in simulator
`-v` says which one a run picked.";

/// The app's id and secret from `AZURE_CLIENT_ID` / `AZURE_CLIENT_SECRET`:
/// the last mode tried, so its error names what is missing and lists the
/// other modes.
pub fn client_secret_from_env() -> anyhow::Result<(String, Secret)> {
    let id = std::env::var("AZURE_CLIENT_ID")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let secret = std::env::var("AZURE_CLIENT_SECRET")
        .ok()
        .filter(|v| !v.is_empty());
    let missing = match (id, secret) {
        (Some(id), Some(secret)) => return Ok((id.trim().to_owned(), Secret::new(secret))),
        (Some(_), None) => {
            "`AZURE_CLIENT_ID` is set but `AZURE_CLIENT_SECRET` is not: an app with a secret needs both (or give the app a certificate, a federated token, a refresh token or a managed identity, below)"
        }
        (None, Some(_)) => {
            "`AZURE_CLIENT_SECRET` is set but `AZURE_CLIENT_ID` is not: name the app the secret belongs to"
        }
        (None, None) => "no credentials were found",
    };
    Err(crate::cli::hinted!(AUTH_MODES, "{missing}"))
}

/// Parses `30m`, `90s`, `1h 30m`, `500ms`, or a number of seconds.
/// Reads a group tag given on the command line: the checks a CSV cell's tag
/// gets (at most 128 characters, no control character).
pub fn parse_group_tag(text: &str) -> Result<String, String> {
    apctl::input::csv::checks::check_group_tag(text)
        .map(|()| text.to_owned())
        .map_err(|e| e.0)
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let too_long = || format!("`{text}` is longer than apctl waits for anything (at most 7 days)");
    let d = if let Ok(secs) = text.trim().parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return Err(format!(
                "`{text}` is not a duration like `30m`, `90s` or `1h 30m`"
            ));
        }
        Duration::try_from_secs_f64(secs).map_err(|_| too_long())?
    } else {
        let d: jiff::SignedDuration = text
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a duration like `30m`, `90s` or `1h 30m`"))?;
        Duration::try_from(d).map_err(|_| format!("`{text}` is negative"))?
    };
    if d > MAX_DURATION {
        return Err(too_long());
    }
    Ok(d)
}

/// A deadline (`--timeout`): a duration, and never zero (a deadline
/// already passed gives every device *Registration pending* and sends
/// nothing useful). A bare number is seconds.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() {
        return Err(format!(
            "`{text}` is no time at all: give the deadline as a duration like `30m` (the default) or `2h`; a bare number is seconds"
        ));
    }
    Ok(d)
}

/// The longest duration any flag takes: longer is a typo, and a deadline
/// that far away is no deadline.
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Checks a tenant given as an id or a verified domain (or a sign-in
/// authority's name, like `organizations`): no display name.
pub fn check_tenant(tenant: &str) -> anyhow::Result<String> {
    let t = tenant.trim();
    let plain = t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
    match TenantRef::check(t) {
        Ok(_) if plain => Ok(t.to_owned()),
        _ => bail!("`--tenant {t}` is not a tenant id or verified domain (like `contoso.onmicrosoft.com`)"),
    }
}

/// Checks a tenant given as an id, a verified domain, or a customer's
/// display name.
pub fn check_tenant_text(tenant: &str) -> anyhow::Result<String> {
    if let Some(variable) = crate::cli::environment::unexpanded(tenant) {
        return Err(crate::cli::hinted!(
            "define the variable in the pipeline (or its variable group), or give the customer's domain or tenant id",
            "the customer `{}` is a pipeline variable passed on as written ({variable} was never defined)",
            tenant.trim()
        ));
    }
    if tenant.trim().is_empty() {
        return Err(crate::cli::hinted!(
            "give the customer's domain, tenant id or name; in a pipeline, an undefined variable gives an empty value (GitHub's `${{ vars.X }}`): define it",
            "`--tenant` is empty"
        ));
    }
    match TenantRef::check(tenant) {
        Ok(_) => Ok(tenant.trim().to_owned()),
        Err(why) => bail!("`--tenant`: {why}"),
    }
}

/// `--partner-tenant` (or `AZURE_TENANT_ID`) as given: refused when it is
/// blank or still a pipeline's variable syntax (the environment's value is
/// checked the same way, with the variable named, before clap sees it).
pub fn partner_tenant_value(text: &str) -> Result<String, String> {
    if let Some(variable) = crate::cli::environment::unexpanded(text) {
        // Named as the environment variable when that is where it came from.
        let from_env = std::env::var("AZURE_TENANT_ID").is_ok_and(|v| v == text);
        return Err(format!(
            "{}`{}` is a pipeline variable passed on as written ({variable} was never defined): define the variable in the pipeline (or its variable group, or the repository's variables), or give the partner's tenant id or domain",
            if from_env { "AZURE_TENANT_ID is " } else { "" },
            text.trim()
        ));
    }
    if text.trim().is_empty() {
        return Err("the partner's tenant is empty: give its tenant id or domain (in a pipeline, an undefined variable gives an empty value)".into());
    }
    Ok(text.trim().to_owned())
}

/// Reads a time scale for waits (0 = skip waits).
pub fn parse_scale(text: &str) -> Result<f64, String> {
    let v: f64 = text.parse().map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{text}` must be between 0 and 1"))
    }
}

/// A customer whose call failed: a credential's fix is its hint.
pub fn call_failure(tenant: &str, e: &apctl::transport::CallError) -> apctl::report::TenantError {
    let hint = apctl::hint::deepest(e).map(str::to_owned);
    apctl::report::TenantError {
        tenant: tenant.to_owned(),
        error: e.to_string(),
        hint,
    }
}

/// A customer that could not be worked on, from an error: its hint, if it
/// carries one, stays apart.
pub fn tenant_error(tenant: &str, err: &anyhow::Error) -> apctl::report::TenantError {
    apctl::report::TenantError {
        tenant: tenant.to_owned(),
        error: format!("{err:#}"),
        hint: crate::cli::hint_of(err).map(str::to_owned),
    }
}

/// Context for reading the report path's folder.
pub fn ensure_parent(path: &std::path::Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    Ok(())
}

/// apctl's state folder (sync times, per-customer locks): `--state-dir` /
/// `APCTL_STATE_DIR`, else the platform's per-user state folder.
pub fn state_dir(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(d) = given {
        return Some(d.to_path_buf());
    }
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    per_user_state(cfg!(windows), var).map(|d| d.join("apctl"))
}

/// The state folder, checked before anything is sent: the user's own and
/// writable by nobody else, never a link (see `apctl::state`), or an error
/// that says how to fix it.
pub fn checked_state_dir(given: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    let Some(dir) = state_dir(given) else {
        return Ok(None);
    };
    apctl::state::ensure_dir(&dir).map_err(|e| {
        crate::cli::hinted!(
            "apctl keeps its run locks and the record of what it sent there; `--state-dir` (or `APCTL_STATE_DIR`) names another folder",
            "{e}"
        )
    })?;
    Ok(Some(dir))
}

/// The per-user state folder. On Windows `%LOCALAPPDATA%` comes first: Git
/// Bash sets `HOME` and PowerShell does not, and runs from both on one
/// machine must share one folder, or their locks cannot see each other.
fn per_user_state(windows: bool, var: impl Fn(&str) -> Option<PathBuf>) -> Option<PathBuf> {
    let local_app_data = || var("LOCALAPPDATA");
    let unix = || var("XDG_STATE_HOME").or_else(|| var("HOME").map(|h| h.join(".local/state")));
    if windows {
        local_app_data().or_else(unix)
    } else {
        unix().or_else(local_app_data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_keeps_state_in_local_app_data_whatever_the_shell_sets() {
        let git_bash = |k: &str| match k {
            "HOME" => Some(PathBuf::from(r"C:\Users\ops")),
            "LOCALAPPDATA" => Some(PathBuf::from(r"C:\Users\ops\AppData\Local")),
            _ => None,
        };
        let powershell =
            |k: &str| (k == "LOCALAPPDATA").then(|| PathBuf::from(r"C:\Users\ops\AppData\Local"));
        assert_eq!(per_user_state(true, git_bash), per_user_state(true, powershell));
        // Elsewhere the XDG rules hold.
        assert_eq!(
            per_user_state(false, git_bash),
            Some(PathBuf::from(r"C:\Users\ops").join(".local/state"))
        );
        let xdg = |k: &str| (k == "XDG_STATE_HOME").then(|| PathBuf::from("/s"));
        assert_eq!(per_user_state(false, xdg), Some(PathBuf::from("/s")));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn tenants() {
        assert!(check_tenant("contoso.onmicrosoft.com").is_ok());
        assert!(check_tenant("2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01").is_ok());
        assert!(check_tenant("con toso").is_err());
        assert!(check_tenant("../x").is_err());
    }
}
