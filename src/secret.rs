//! Secrets and tokens that never show themselves: no `Display`, and a
//! `Debug` that prints only that something is there.

use std::fmt;

/// A client secret, refresh token, access token or assertion.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value, and registers it with the sanitiser so that
    /// no output ever shows it, even echoed back by a service.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::sanitize::register_secret(&value);
        Self(value)
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{:?}", Some(s)), "Some(Secret(<redacted>))");
    }
}
