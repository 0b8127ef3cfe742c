//! The Secure Application Model: a partner admin's refresh token, exchanged
//! at each customer tenant's authority for a token there (SPEC §4). The
//! token rides on the admin's GDAP roles. When the service hands back a new
//! refresh token, it replaces the old one in memory and, if asked, in its
//! file: written atomically, readable by the owner only.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use super::{AccessToken, AuthError, TokenFuture, TokenSource};
use crate::clock::SharedClock;
use crate::secret::Secret;

/// Exchanges a refresh token for customer-tenant tokens.
pub struct RefreshToken {
    http: reqwest::Client,
    authority: Url,
    client_id: String,
    client_secret: Option<Secret>,
    current: Mutex<Secret>,
    save_to: Option<PathBuf>,
    clock: SharedClock,
}

sentence_error! {
    /// Why a rotated refresh token could not be saved.
    SaveError
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("authority", &self.authority.as_str())
            .field("client_id", &self.client_id)
            .field("save_to", &self.save_to)
            .finish_non_exhaustive()
    }
}

/// Where the refresh token comes from and goes back to.
#[derive(Debug)]
pub struct RefreshTokenSettings {
    pub client_id: String,
    /// The app's secret, for a confidential client.
    pub client_secret: Option<Secret>,
    pub refresh_token: Secret,
    /// Write rotated refresh tokens back here.
    pub save_to: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Answer {
    access_token: String,
    #[serde(default = "super::an_hour", deserialize_with = "super::de_token_life")]
    expires_in: u64,
    refresh_token: Option<String>,
}

impl RefreshToken {
    /// A source at the given authority host.
    pub fn new(
        http: reqwest::Client,
        authority: Url,
        settings: RefreshTokenSettings,
        clock: SharedClock,
    ) -> Self {
        Self {
            http,
            authority,
            client_id: settings.client_id,
            client_secret: settings.client_secret,
            current: Mutex::new(settings.refresh_token),
            save_to: settings.save_to,
            clock,
        }
    }

    /// Keeps a rotated refresh token, and saves it when asked; the error
    /// says why it could not be saved.
    fn rotate(&self, fresh: String) -> Result<(), SaveError> {
        let fresh = Secret::new(fresh);
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = fresh.clone();
        match &self.save_to {
            Some(path) => write_private(path, fresh.expose()).map_err(|e| {
                SaveError(format!(
                    "cannot save the new refresh token to `{}`: {e}",
                    path.display()
                ))
            }),
            None => Ok(()),
        }
    }
}

impl TokenSource for RefreshToken {
    fn fetch<'a>(&'a self, tenant: &'a str, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let token = self
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("client_id", self.client_id.as_str()),
                ("refresh_token", token.expose()),
                ("scope", scope),
            ];
            if let Some(s) = &self.client_secret {
                form.push(("client_secret", s.expose()));
            }
            let (status, body) =
                super::post_form(&self.http, &self.authority, tenant, "token", &form).await?;
            if status != 200 {
                return Err(AuthError::from_response(tenant, status, &body));
            }
            let answer: Answer = serde_json::from_slice(&body)
                .map_err(|_| AuthError::transport(tenant, "the token response is not the expected JSON"))?;
            if answer.expires_in == 0 {
                return Err(AuthError::expired_at_once(tenant));
            }
            let fresh = answer.refresh_token.filter(|t| t != token.expose());
            if let Some(why) = fresh.as_deref().and_then(unusable_refresh_token) {
                tracing::warn!(
                    "the token endpoint sent a new refresh token that apctl does not keep ({why}); the current one stays in use and saved"
                );
            } else if let Some(fresh) = fresh {
                self.rotate(fresh).map_err(|summary| AuthError {
                    tenant: tenant.to_owned(),
                    aadsts: None,
                    error: "io".into(),
                    summary: summary.0,
                    hint: "check that the folder is writable; the old refresh token may stop working soon"
                        .into(),
                    trace_id: None,
                })?;
            }
            Ok(AccessToken {
                token: Secret::new(answer.access_token),
                expires_at: self.clock.now() + Duration::from_secs(answer.expires_in),
            })
        })
    }
}

/// Shortest refresh token taken as one: Entra's are hundreds of
/// characters; a few characters are an error page's fragment or a test.
const MIN_REFRESH_TOKEN: usize = 20;

/// Why a rotated refresh token must not replace the one in use (and on
/// disk): empty, very short, or more than one line (which would also make
/// the saved file read back as something else).
fn unusable_refresh_token(fresh: &str) -> Option<String> {
    if fresh.trim().is_empty() {
        Some("it is empty".into())
    } else if fresh.contains(['\r', '\n']) {
        Some("it holds a line break".into())
    } else if fresh.trim() != fresh {
        Some("it starts or ends with a space".into())
    } else if fresh.chars().count() < MIN_REFRESH_TOKEN {
        Some(format!(
            "it has {} characters; a refresh token has hundreds",
            fresh.chars().count()
        ))
    } else {
        None
    }
}

/// Writes `text` to `path` atomically (a new file of an unguessable name
/// beside it, then a rename), readable and writable by the owner only,
/// never through a link at `path` (see [`crate::state::write_whole`]).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    crate::state::write_whole(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_replaced_atomically_and_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rt");
        std::fs::write(&path, "old").unwrap();
        write_private(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
