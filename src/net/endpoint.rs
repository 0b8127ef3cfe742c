//! The service endpoints apctl talks to, and the rule that protects
//! credentials on the way: `https://` everywhere, plain `http://` only for
//! loopback addresses (the simulator and test servers).

use std::net::IpAddr;

use reqwest::Url;
use thiserror::Error;

/// Microsoft Graph, public cloud.
pub const GRAPH: &str = "https://graph.microsoft.com";
/// Entra ID token authority, public cloud.
pub const AUTHORITY: &str = "https://login.microsoftonline.com";
/// Partner Center REST API.
pub const PARTNER_CENTER: &str = "https://api.partnercenter.microsoft.com";
/// Partner Center operated by 21Vianet (Microsoft's "Partner Center REST
/// URLs" page): its own host, and its own token resource.
pub const PARTNER_CENTER_CHINA: &str = "https://partner.partnercenterapi.microsoftonline.cn";

/// A Microsoft cloud: its token authority, Graph host and scope, and
/// Partner Center host and scope (SPEC §3.3, §4). US Government clouds use
/// the public Partner Center host (the same page lists it for them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cloud {
    #[default]
    Public,
    UsGov,
    UsGovDod,
    China,
}

impl Cloud {
    /// Every endpoint of the cloud.
    pub fn endpoints(self) -> Endpoints {
        let (authority, graph) = match self {
            Self::Public => (AUTHORITY, GRAPH),
            Self::UsGov => ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
            Self::UsGovDod => (
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us",
            ),
            Self::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
            ),
        };
        let partner_center = match self {
            Self::China => PARTNER_CENTER_CHINA,
            _ => PARTNER_CENTER,
        };
        Endpoints {
            graph: Url::parse(graph).expect("constant URL"),
            authority: Url::parse(authority).expect("constant URL"),
            partner_center: Url::parse(partner_center).expect("constant URL"),
            graph_scope: self.graph_scope(),
            partner_center_scope: match self {
                Self::China => PARTNER_CENTER_SCOPE_CHINA,
                _ => PARTNER_CENTER_SCOPE,
            },
            exchange_audience: self.exchange_audience(),
        }
    }

    /// The audience a managed identity asks for when its token is to be
    /// the client assertion of an app (workload identity federation).
    pub fn exchange_audience(self) -> &'static str {
        match self {
            Self::Public => "api://AzureADTokenExchange",
            Self::UsGov | Self::UsGovDod => "api://AzureADTokenExchangeUSGov",
            Self::China => "api://AzureADTokenExchangeChina",
        }
    }

    /// The `.default` scope of the cloud's Graph.
    pub fn graph_scope(self) -> &'static str {
        match self {
            Self::Public => "https://graph.microsoft.com/.default",
            Self::UsGov => "https://graph.microsoft.us/.default",
            Self::UsGovDod => "https://dod-graph.microsoft.us/.default",
            Self::China => "https://microsoftgraph.chinacloudapi.cn/.default",
        }
    }
}

/// Where each service is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Graph root; apctl appends `/v1.0/…` or `/beta/…`.
    pub graph: Url,
    /// Token authority; tokens come from `{authority}/{tenant}/oauth2/v2.0/token`.
    pub authority: Url,
    /// Partner Center root; apctl appends `/v1/…`.
    pub partner_center: Url,
    /// The scope of Graph tokens in this cloud.
    pub graph_scope: &'static str,
    /// The scope of Partner Center tokens in this cloud.
    pub partner_center_scope: &'static str,
    /// The audience of a managed identity's token used as an app's client
    /// assertion in this cloud.
    pub exchange_audience: &'static str,
}

impl Default for Endpoints {
    fn default() -> Self {
        Cloud::Public.endpoints()
    }
}

/// A URL apctl will not send credentials to.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("`{value}` for {setting} is not a URL: {reason}")]
    NotUrl {
        setting: &'static str,
        value: String,
        reason: String,
    },
    #[error("`{value}` for {setting} uses plain http to a host that is not loopback; use https://")]
    Insecure { setting: &'static str, value: String },
    #[error("`{value}` for {setting} has scheme `{scheme}`; use https://")]
    Scheme {
        setting: &'static str,
        value: String,
        scheme: String,
    },
}

/// Parses and checks an endpoint setting.
pub fn parse(setting: &'static str, value: &str) -> Result<Url, EndpointError> {
    let url = Url::parse(value.trim_end_matches('/')).map_err(|e| EndpointError::NotUrl {
        setting,
        value: value.to_owned(),
        reason: e.to_string(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        // Never sent as Basic auth, never printed back.
        return Err(EndpointError::NotUrl {
            setting,
            value: "(a URL with a user name or password)".to_owned(),
            reason: "credentials do not belong in an endpoint URL".to_owned(),
        });
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(EndpointError::Insecure {
            setting,
            value: value.to_owned(),
        }),
        other => Err(EndpointError::Scheme {
            setting,
            value: value.to_owned(),
            scheme: other.to_owned(),
        }),
    }
}

/// The Azure Instance Metadata Service, where a VM's managed identity gets
/// its tokens. It only speaks plain http and only on this link-local
/// address, which never leaves the host: the one http endpoint that is not
/// loopback, fixed here and never taken from input.
pub const IMDS_TOKEN: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// True for `localhost`, 127.0.0.0/8 and `[::1]`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The scope of Partner Center tokens: app + user (Secure Application
/// Model), asked for at the partner's own tenant.
pub const PARTNER_CENTER_SCOPE: &str = "https://api.partnercenter.microsoft.com/user_impersonation";
/// The same for Partner Center operated by 21Vianet, whose token resource
/// is its own host.
pub const PARTNER_CENTER_SCOPE_CHINA: &str =
    "https://partner.partnercenterapi.microsoftonline.cn/user_impersonation";

/// True for a Partner Center scope of any cloud: such tokens come from the
/// partner admin's sign-in.
pub fn is_partner_center_scope(scope: &str) -> bool {
    scope == PARTNER_CENTER_SCOPE || scope == PARTNER_CENTER_SCOPE_CHINA
}

/// One path segment made from text that came from outside (an id from an
/// answer, a batch name): every byte but letters, digits, `-`, `_` and
/// `~` is percent-encoded, so a `/`, `..` or `?` in it can never reach
/// another resource.
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// True when `link` is on the same origin (scheme, host and port) as
/// `root`: the only links from an answer apctl follows.
pub fn same_origin(root: &Url, link: &Url) -> bool {
    root.scheme() == link.scheme()
        && root.host_str().map(str::to_ascii_lowercase) == link.host_str().map(str::to_ascii_lowercase)
        && root.port_or_known_default() == link.port_or_known_default()
        && link.username().is_empty()
        && link.password().is_none()
}

/// Joins a path onto a root URL, keeping any path the root already has.
pub fn join(root: &Url, path: &str) -> Url {
    let mut s = root.as_str().trim_end_matches('/').to_owned();
    s.push_str(path);
    Url::parse(&s).unwrap_or_else(|_| root.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_for_loopback() {
        assert!(parse("--graph-url", "http://127.0.0.1:8080").is_ok());
        assert!(parse("--graph-url", "http://127.5.0.1:8080").is_ok());
        assert!(parse("--graph-url", "http://localhost:1").is_ok());
        assert!(parse("--graph-url", "http://[::1]:1").is_ok());
        assert!(parse("--graph-url", "https://graph.microsoft.us").is_ok());
        assert!(matches!(
            parse("--graph-url", "http://graph.microsoft.com"),
            Err(EndpointError::Insecure { .. })
        ));
        assert!(matches!(
            parse("--graph-url", "http://10.0.0.1"),
            Err(EndpointError::Insecure { .. })
        ));
        assert!(matches!(
            parse("--graph-url", "ftp://x"),
            Err(EndpointError::Scheme { .. })
        ));
        assert!(matches!(
            parse("--graph-url", "not a url"),
            Err(EndpointError::NotUrl { .. })
        ));
    }

    #[test]
    fn clouds_set_authority_graph_and_scope_together() {
        let gov = Cloud::UsGov.endpoints();
        assert_eq!(gov.authority.as_str(), "https://login.microsoftonline.us/");
        assert_eq!(gov.graph.as_str(), "https://graph.microsoft.us/");
        assert_eq!(gov.graph_scope, "https://graph.microsoft.us/.default");
        assert_eq!(
            Cloud::UsGovDod.endpoints().graph.host_str(),
            Some("dod-graph.microsoft.us")
        );
        assert_eq!(
            Cloud::China.endpoints().authority.host_str(),
            Some("login.chinacloudapi.cn")
        );
        assert_eq!(
            Endpoints::default().graph_scope,
            "https://graph.microsoft.com/.default"
        );
    }

    #[test]
    fn china_has_its_own_partner_center_host_and_scope() {
        let china = Cloud::China.endpoints();
        assert_eq!(
            china.partner_center.host_str(),
            Some("partner.partnercenterapi.microsoftonline.cn")
        );
        assert_eq!(china.partner_center_scope, PARTNER_CENTER_SCOPE_CHINA);
        assert!(is_partner_center_scope(china.partner_center_scope));
        assert!(!is_partner_center_scope(china.graph_scope));
        for cloud in [Cloud::Public, Cloud::UsGov, Cloud::UsGovDod] {
            let e = cloud.endpoints();
            assert_eq!(
                e.partner_center.as_str(),
                "https://api.partnercenter.microsoft.com/"
            );
            assert_eq!(e.partner_center_scope, PARTNER_CENTER_SCOPE);
        }
    }

    #[test]
    fn join_keeps_the_root_path() {
        let root = Url::parse("http://127.0.0.1:9/graph").unwrap();
        assert_eq!(join(&root, "/v1.0/x").as_str(), "http://127.0.0.1:9/graph/v1.0/x");
    }
}
