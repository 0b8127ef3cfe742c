//! Device-code sign-in of a partner admin (`apctl login`): the code and the
//! page to enter it on are shown, the token endpoint is polled at the
//! advertised interval while it answers `authorization_pending`, and the
//! refresh token that results is what the Secure Application Model runs on.
//! A plain form POST flow: azure_identity 1.0 has no device-code credential.

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use super::AuthError;
use crate::clock::SharedClock;
use crate::secret::Secret;

/// The device-code grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What the user is asked to do.
#[derive(Clone, Debug, Deserialize)]
pub struct DeviceCode {
    pub user_code: String,
    pub verification_uri: String,
    #[serde(default)]
    pub message: Option<String>,
    /// Seconds the code is good for, within `1..=MAX_TOKEN_LIFE` (0: dead).
    #[serde(default = "fifteen_minutes", deserialize_with = "super::de_token_life")]
    pub expires_in: u64,
    /// Seconds between polls, read as `expires_in` is and kept to 1–60.
    #[serde(default = "five", deserialize_with = "super::de_token_life")]
    pub interval: u64,
    device_code: String,
}

fn fifteen_minutes() -> u64 {
    900
}

fn five() -> u64 {
    5
}

#[derive(Deserialize, Default)]
struct Poll {
    #[serde(default)]
    error: String,
    refresh_token: Option<String>,
}

/// Where to sign in.
pub struct Login<'a> {
    pub http: &'a reqwest::Client,
    pub authority: &'a Url,
    /// The partner tenant, or `organizations`.
    pub tenant: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub clock: &'a SharedClock,
}

impl Login<'_> {
    /// Runs the flow; `show` gets the code to present. Returns the refresh token.
    pub async fn run(&self, show: impl Fn(&DeviceCode)) -> Result<Secret, AuthError> {
        let code = self.start().await?;
        show(&code);
        if code.expires_in == 0 {
            return Err(self.error(
                "the device code the service answered expires at once (`expires_in` of 0 or less)",
                "run `apctl login` again; if it persists, check `AZURE_AUTHORITY_HOST`",
            ));
        }
        let deadline = self.clock.now() + Duration::from_secs(code.expires_in);
        let mut interval = Duration::from_secs(code.interval.clamp(1, 60));
        loop {
            self.clock.sleep(interval).await;
            if self.clock.now() > deadline {
                return Err(self.error(
                    "the code expired before sign-in finished",
                    "run `apctl login` again and enter the code sooner",
                ));
            }
            let (status, body) = self
                .post(&[
                    ("grant_type", DEVICE_CODE_GRANT),
                    ("client_id", self.client_id),
                    ("device_code", &code.device_code),
                ])
                .await?;
            let poll: Poll = serde_json::from_slice(&body).unwrap_or_default();
            match (status, poll.error.as_str()) {
                (200, _) => {
                    return poll.refresh_token.map(Secret::new).ok_or_else(|| {
                        self.error(
                            "the sign-in gave no refresh token",
                            "ask for the `offline_access` scope (apctl does by default)",
                        )
                    });
                }
                (_, "authorization_pending") => {}
                (_, "slow_down") => {
                    interval = (interval + Duration::from_secs(5)).min(Duration::from_secs(60))
                }
                (_, "authorization_declined") => {
                    return Err(self.error("the sign-in was declined", "run `apctl login` again"));
                }
                (_, "expired_token") => return Err(self.error("the code expired", "run `apctl login` again")),
                _ => return Err(AuthError::from_response(self.tenant, status, &body)),
            }
        }
    }

    async fn start(&self) -> Result<DeviceCode, AuthError> {
        let form = [("client_id", self.client_id), ("scope", self.scope)];
        let (status, body) =
            super::post_form(self.http, self.authority, self.tenant, "devicecode", &form).await?;
        if status != 200 {
            return Err(AuthError::from_response(self.tenant, status, &body));
        }
        serde_json::from_slice(&body)
            .map_err(|_| AuthError::transport(self.tenant, "the device-code answer is not the expected JSON"))
    }

    async fn post(&self, form: &[(&str, &str)]) -> Result<(u16, bytes::Bytes), AuthError> {
        super::post_form(self.http, self.authority, self.tenant, "token", form).await
    }

    fn error(&self, summary: &str, hint: &str) -> AuthError {
        AuthError {
            tenant: self.tenant.to_owned(),
            aadsts: None,
            error: "device_code".into(),
            summary: summary.into(),
            hint: hint.into(),
            trace_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_lifetimes_and_intervals_are_bounded_as_read() {
        let code: DeviceCode = serde_json::from_str(
            r#"{"user_code":"A","device_code":"d","verification_uri":"https://x","expires_in":18446744073709551615,"interval":1e18}"#,
        )
        .unwrap();
        assert_eq!(code.expires_in, crate::auth::MAX_TOKEN_LIFE);
        assert_eq!(code.interval.clamp(1, 60), 60, "polled at most every minute");
        let dead: DeviceCode = serde_json::from_str(
            r#"{"user_code":"A","device_code":"d","verification_uri":"https://x","expires_in":-5}"#,
        )
        .unwrap();
        assert_eq!(dead.expires_in, 0);
    }
}
