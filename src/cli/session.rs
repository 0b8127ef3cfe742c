//! What every command that talks to the services sets up: the clock, the
//! simulator when `--simulate` asks for it, the credentials, the token
//! cache and the HTTP client.

use std::sync::Arc;
use std::time::Duration;

use apctl::auth::{
    AssertionApp, AzureCli, AzureClientSecret, AzurePipelines, ByService, ClientCertificate, FederatedToken,
    GitHubActions, ManagedIdentity, RefreshToken, RefreshTokenSettings, TokenCache, TokenSource,
};
use apctl::clock::{ScaledClock, SharedClock};
use apctl::net::endpoint::Endpoints;
use apctl::secret::Secret;
use apctl::simulator::{self, SimConfig, Simulator};
use apctl::transport::retry::Policy;
use apctl::transport::{self, Client};

use super::settings::{self, CredentialArgs, Credentials, EndpointArgs};

/// A ready connection to the services (or to the in-process simulator).
pub struct Session {
    pub client: Client,
    pub endpoints: Endpoints,
    /// The demo partner's tenant, under `--simulate`.
    pub demo_partner: Option<String>,
    /// True when tokens ride on a partner user's GDAP roles (Secure
    /// Application Model); false for app-only tokens.
    pub delegated: bool,
    /// The partner's GDAP relationships, read once per run however many
    /// customers are named or checked.
    relationships: tokio::sync::OnceCell<Vec<apctl::graph::gdap::Relationship>>,
    _simulator: Option<Simulator>,
}

/// How to open a session; `credentials` is `None` under `--simulate`.
pub struct Options {
    pub endpoints: Endpoints,
    pub credentials: Option<Credentials>,
    /// Partner Center's sign-in when the credentials are an app's alone.
    pub partner_sign_in: Option<RefreshTokenSettings>,
    pub time_scale: Option<f64>,
    pub http_timeout: Duration,
}

/// Opens a session; starts the simulator when no credentials are given.
pub async fn open(options: Options) -> anyhow::Result<Session> {
    // In a pipeline, the runner learns every secret apctl holds before
    // anything else is printed (on stderr, so stdout stays one document).
    if let Some(pipeline) = super::pipeline::Pipeline::detect() {
        let _ = pipeline.mask_commands().write(super::term::Stream::Stderr);
    }
    let simulate = options.credentials.is_none();
    let clock: SharedClock =
        ScaledClock::scaled(options.time_scale.unwrap_or(if simulate { 0.0 } else { 1.0 }));
    let (credentials, mut demo, endpoints) = match options.credentials {
        Some(c) => (c, None, options.endpoints),
        None => {
            let (demo, credentials) = Demo::start(&clock).await?;
            let endpoints = demo.simulator.endpoints();
            (credentials, Some(demo), endpoints)
        }
    };
    let http = transport::reqwest_client_with_timeout(options.http_timeout);
    let delegated = matches!(
        credentials,
        Credentials::RefreshToken(_) | Credentials::AzureCli(_)
    );
    let source = token_source(credentials, &http, &endpoints, &clock)?;
    let sign_in = demo
        .as_mut()
        .and_then(|d| d.sign_in.take())
        .or(options.partner_sign_in);
    let partner_center: Option<Arc<dyn TokenSource>> = match sign_in {
        Some(s) if !delegated => Some(Arc::new(RefreshToken::new(
            http.clone(),
            endpoints.authority.clone(),
            s,
            clock.clone(),
        ))),
        _ => delegated.then(|| source.clone()),
    };
    let source = Arc::new(ByService {
        graph: source,
        partner_center,
    });
    let tokens = Arc::new(TokenCache::new(source, clock.clone()));
    let client = Client::new(http, tokens, clock, Policy::default());
    let (demo_partner, simulator) = match demo {
        Some(d) => (d.partner, Some(d.simulator)),
        None => (None, None),
    };
    Ok(Session {
        client,
        endpoints,
        demo_partner,
        delegated,
        relationships: tokio::sync::OnceCell::new(),
        _simulator: simulator,
    })
}

/// The built-in simulator and the demo world's sign-ins.
struct Demo {
    simulator: Simulator,
    /// The demo partner admin's sign-in, for Partner Center.
    sign_in: Option<RefreshTokenSettings>,
    partner: Option<String>,
}

impl Demo {
    /// Starts the simulator on the demo world; the app credentials it takes.
    async fn start(clock: &SharedClock) -> anyhow::Result<(Self, Credentials)> {
        let world = simulator::demo_world();
        let sign_in = world.refresh_token.clone().map(|rt| RefreshTokenSettings {
            client_id: world.client_id.clone(),
            client_secret: Some(Secret::new(world.client_secret.clone())),
            refresh_token: Secret::new(rt),
            save_to: None,
        });
        let credentials =
            Credentials::ClientSecret(world.client_id.clone(), Secret::new(world.client_secret.clone()));
        let partner = world.partner_tenant_id.clone();
        let config = SimConfig {
            import_delay: Duration::from_secs(20),
            ..SimConfig::default()
        };
        let simulator = Simulator::start(world, config, clock.clone(), 0).await?;
        let demo = Self {
            simulator,
            sign_in,
            partner,
        };
        Ok((demo, credentials))
    }
}

/// The token source of a credential mode.
fn token_source(
    credentials: Credentials,
    http: &reqwest::Client,
    endpoints: &Endpoints,
    clock: &SharedClock,
) -> anyhow::Result<Arc<dyn TokenSource>> {
    let authority = endpoints.authority.clone();
    let app = |id: String| AssertionApp::new(http.clone(), authority.clone(), id, clock.clone());
    Ok(match credentials {
        Credentials::ClientSecret(id, secret) => Arc::new(AzureClientSecret::new(
            http.clone(),
            authority.clone(),
            id,
            secret,
            clock.clone(),
        )),
        Credentials::RefreshToken(s) => Arc::new(RefreshToken::new(http.clone(), authority.clone(), s, clock.clone())),
        Credentials::Federated(id, file) => Arc::new(FederatedToken::new(app(id), file)),
        Credentials::AzureCli(program) => Arc::new(AzureCli::new(program, clock.clone())),
        Credentials::Pipelines(id, p) => Arc::new(AzurePipelines::new(app(id), p)),
        Credentials::GitHubActions(id, g) => Arc::new(GitHubActions::new(app(id), g)),
        Credentials::ManagedIdentity(id, host, identity) => Arc::new(ManagedIdentity::new(
            app(id),
            host,
            identity,
            endpoints.exchange_audience,
        )),
        Credentials::Certificate(id, path, password) => Arc::new(
            ClientCertificate::new(app(id), path, password.as_ref().map(Secret::expose)).map_err(|e| {
                crate::cli::hinted!(
                    "`AZURE_CLIENT_CERTIFICATE_PATH` must name a PEM file holding the certificate and its RSA private key, or a PFX file with `AZURE_CLIENT_CERTIFICATE_PASSWORD`",
                    "{e}"
                )
            })?,
        ),
    })
}

impl Session {
    /// The GDAP relationships in the partner tenant, read on first use.
    pub async fn relationships(
        &self,
        partner: &str,
    ) -> Result<&[apctl::graph::gdap::Relationship], apctl::transport::CallError> {
        self.relationships
            .get_or_try_init(|| async {
                let gate = self.client.gate(partner);
                apctl::graph::gdap::list(&self.graph(partner, &gate)).await
            })
            .await
            .map(Vec::as_slice)
    }

    /// Graph calls for `tenant` through `gate`.
    pub fn graph<'a>(
        &'a self,
        tenant: &'a str,
        gate: &'a apctl::transport::throttle::TenantGate,
    ) -> apctl::graph::Graph<'a> {
        apctl::graph::Graph::at(&self.client, &self.endpoints, tenant, gate)
    }
}

/// Turns a `--tenant` value into what the services take: ids and domains
/// as they are, a GDAP display name through the partner's relationships.
pub async fn resolve_tenant(session: &Session, text: &str, partner: Option<&str>) -> anyhow::Result<String> {
    use apctl::graph::gdap::{self, TenantRef};
    let name = match TenantRef::parse(text) {
        TenantRef::Id(t) | TenantRef::Domain(t) => return Ok(t),
        TenantRef::Name(n) => n,
    };
    let Some(partner) = partner.map(str::to_owned).or(session.demo_partner.clone()) else {
        return Err(crate::cli::hinted!(
            "set `AZURE_TENANT_ID` to your partner tenant, or give the customer's tenant id or domain",
            "`{name}` is a customer name, which needs the partner tenant to look it up"
        ));
    };
    let relationships = session.relationships(&partner).await.map_err(|e| {
        // The cause's own fix wins (a wrong secret); else what reading
        // relationships takes.
        anyhow::Error::new(e).context(crate::cli::Hinted {
            message: format!("cannot look up `{name}` among GDAP relationships"),
            hint: gdap::LIST_HINT.to_owned(),
        })
    })?;
    let id = gdap::resolve(&name, relationships)?;
    // The name was found through GDAP: a relationship that is not active
    // is told, whatever the credentials. A partner admin's token rides on
    // it, so the customer stops here; an app's own consent does not, so
    // the run goes on and says why a token may be refused.
    if let Some((message, hint)) = super::commands::doctor::inactive_state(relationships, &id) {
        if session.delegated {
            return Err(crate::cli::hinted!(hint, "`{name}`: {message}"));
        }
        crate::cli::term::err_line(&format!(
            "note: `{name}`: {message}; with the app's own consent apctl goes on, and Entra may refuse the customer's token"
        ));
        crate::cli::term::err_line(&format!("  hint: {hint}"));
    }
    Ok(id)
}

/// What every command that talks to the services takes on the command line.
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// Run against the built-in simulator (demo tenants and credentials).
    #[arg(long)]
    pub simulate: bool,
    #[command(flatten)]
    pub endpoints: EndpointArgs,
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

impl ConnectArgs {
    /// Resolves endpoints and credentials (none under `--simulate`) before
    /// any network I/O.
    pub fn options(&self, time_scale: Option<f64>, http_timeout: Duration) -> anyhow::Result<Options> {
        let endpoints = self.endpoints.resolve()?;
        let credentials = if self.simulate {
            tracing::info!("credentials: none, the built-in simulator (--simulate)");
            None
        } else {
            let credentials = settings::credentials(&self.credentials)?;
            tracing::info!("credentials: {}", credentials.describe());
            Some(credentials)
        };
        let partner_sign_in = match &credentials {
            Some(c) => settings::partner_sign_in(&self.credentials, c)?,
            None => None,
        };
        if partner_sign_in.is_some() {
            tracing::info!("Partner Center: the partner admin's refresh token, for the same app");
        }
        Ok(Options {
            endpoints,
            credentials,
            partner_sign_in,
            time_scale,
            http_timeout,
        })
    }
}

/// The async runtime the commands run on.
/// Runs a command's work with an overall deadline (real time): whatever a
/// slow or silent service does, the command ends by then and says why.
pub async fn bounded<T>(
    limit: Duration,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(crate::cli::hinted!(
            "check the network and the endpoints (`apctl doctor`), or give more time with `--timeout`",
            "the command did not finish within {}: a service is slow or not answering",
            jiff::SignedDuration::try_from(limit).unwrap_or_default()
        )),
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
