//! The offline simulator: Entra's token endpoint and Microsoft Graph's
//! Autopilot endpoints, stateful per tenant, behind a wiremock server on a
//! loopback port. It ships in the binary (`apctl simulate`, `--simulate`)
//! and feeds the integration tests and benchmarks, so the demo and the
//! tests cannot drift apart. Its starting world comes from the fixtures in
//! `wiremock-fixtures/simulator/`, embedded at build time.

mod world;

use std::sync::{Arc, Mutex, PoisonError};

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

pub use world::{
    RegisteredSpec, RetryAfterStyle, SimConfig, SimLimits, SimStats, TenantSpec, World, WorldSpec,
    check_import_body,
};

use crate::clock::SharedClock;
use crate::net::endpoint::Endpoints;

/// The demo world fixture.
pub const DEMO_WORLD: &str = include_str!("../../wiremock-fixtures/simulator/demo-world.json");

/// Parses the embedded demo world.
pub fn demo_world() -> WorldSpec {
    serde_json::from_str(DEMO_WORLD).expect("the embedded demo world is valid")
}

/// A running simulator.
pub struct Simulator {
    server: MockServer,
    world: Arc<Mutex<World>>,
}

impl Simulator {
    /// Starts a simulator on a loopback port (`port` 0 picks a free one).
    pub async fn start(
        spec: WorldSpec,
        config: SimConfig,
        clock: SharedClock,
        port: u16,
    ) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        let server = MockServer::builder()
            .listener(listener)
            .disable_request_recording()
            .start()
            .await;
        let world = Arc::new(Mutex::new(World::new(spec, config, clock.clone())));
        lock(&world).base = server.uri();
        let responder = Responder {
            world: world.clone(),
            scale: clock.scale(),
        };
        Mock::given(any()).respond_with(responder).mount(&server).await;
        Ok(Self { server, world })
    }

    /// The root URL (`http://127.0.0.1:PORT`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Every endpoint pointed at the simulator.
    pub fn endpoints(&self) -> Endpoints {
        let url = crate::net::endpoint::parse("simulator", &self.uri()).expect("loopback URL");
        Endpoints {
            graph: url.clone(),
            authority: url.clone(),
            partner_center: url,
            graph_scope: crate::net::endpoint::Cloud::Public.graph_scope(),
            partner_center_scope: crate::net::endpoint::PARTNER_CENTER_SCOPE,
            exchange_audience: crate::net::endpoint::Cloud::Public.exchange_audience(),
        }
    }

    /// A client signed in as the demo app (client secret), for tests and
    /// benchmarks that drive the engine against this simulator.
    pub fn demo_client(
        &self,
        http: reqwest::Client,
        clock: SharedClock,
        policy: crate::transport::retry::Policy,
    ) -> crate::transport::Client {
        let world = demo_world();
        let secret = crate::secret::Secret::new(world.client_secret);
        let source = crate::auth::AzureClientSecret::new(
            http.clone(),
            self.endpoints().authority,
            world.client_id,
            secret,
            clock.clone(),
        );
        let tokens = std::sync::Arc::new(crate::auth::TokenCache::new(
            std::sync::Arc::new(source),
            clock.clone(),
        ));
        crate::transport::Client::new(http, tokens, clock, policy)
    }

    /// What the simulator saw so far.
    pub fn stats(&self) -> SimStats {
        lock(&self.world).stats.clone()
    }
}

fn lock(world: &Mutex<World>) -> std::sync::MutexGuard<'_, World> {
    world.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Responder {
    world: Arc<Mutex<World>>,
    scale: f64,
}

impl Respond for Responder {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let sim = world::SimRequest {
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            query: request.url.query().map(str::to_owned),
            authorization: header("authorization"),
            contract_version: header("ms-contract-version"),
            continuation: header("ms-continuationtoken"),
            body: request.body.clone(),
        };
        let answer = lock(&self.world).handle(&sim);
        let mut t = ResponseTemplate::new(answer.status);
        if !answer.body.is_empty() {
            t = t.set_body_raw(answer.body, "application/json");
        }
        for (k, v) in answer.headers {
            t = t.insert_header(k.as_str(), v.as_str());
        }
        let delay = answer.delay.mul_f64(self.scale);
        if !delay.is_zero() {
            t = t.set_delay(delay);
        }
        t
    }
}
