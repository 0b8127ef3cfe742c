//! App + certificate: a client assertion (a JWT signed RS256 with the
//! certificate's private key, `x5t` naming the certificate) sent instead of
//! a secret. Signed with aws-lc-rs, the crypto rustls already brings, so no
//! OpenSSL is needed to build or run (azure_identity's own certificate
//! credential needs it). PEM files hold the certificate and its PKCS#8 or
//! PKCS#1 key; PFX files (`.pfx`, `.p12`) are opened with
//! `AZURE_CLIENT_CERTIFICATE_PASSWORD`.

use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::assertion::AssertionApp;
use super::{AuthError, TokenFuture, TokenSource};
use crate::secret::Secret;

/// How long an assertion is valid.
const LIFETIME_SECS: i64 = 600;

sentence_error! {
    /// Why a certificate cannot be used to sign in.
    CertificateError
}

/// A certificate and its key, read from a PEM file.
pub struct SigningCertificate {
    key: RsaKeyPair,
    /// base64url of the certificate's SHA-1 thumbprint.
    x5t: String,
}

impl std::fmt::Debug for SigningCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningCertificate")
            .field("x5t", &self.x5t)
            .finish_non_exhaustive()
    }
}

impl SigningCertificate {
    /// Reads a PEM file, or a PFX (`.pfx`/`.p12`, with `password`).
    pub fn from_file(path: &Path, password: Option<&str>) -> Result<Self, CertificateError> {
        let pfx = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pfx") || e.eq_ignore_ascii_case("p12"));
        if pfx {
            Self::from_pfx_file(path, password.unwrap_or(""))
        } else {
            Self::from_pem_file(path)
        }
    }

    /// Reads the key and its certificate from a PKCS#12 (PFX) file.
    pub fn from_pfx_file(path: &Path, password: &str) -> Result<Self, CertificateError> {
        use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
        let data = std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let store = KeyStore::from_pkcs12(&data, password, Pkcs12ImportPolicy::Strict)
            .map_err(|e| format!("the PFX file cannot be opened (wrong password?): {e}"))?;
        let chain = store
            .entries()
            .find_map(|(_, entry)| match entry {
                KeyStoreEntry::PrivateKeyChain(chain) => Some(chain),
                _ => None,
            })
            .ok_or("the PFX file holds no private key with its certificate")?;
        let cert = chain
            .certs()
            .first()
            .ok_or("the PFX file's key has no certificate")?;
        let key = RsaKeyPair::from_pkcs8(chain.key().as_der())
            .map_err(|e| format!("the private key cannot be used (RSA only): {e}"))?;
        Ok(Self::new(key, cert.as_der()))
    }

    fn new(key: RsaKeyPair, cert_der: &[u8]) -> Self {
        let thumbprint = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, cert_der);
        Self {
            key,
            x5t: URL_SAFE_NO_PAD.encode(thumbprint.as_ref()),
        }
    }

    /// Reads the first certificate and the private key of a PEM file.
    pub fn from_pem_file(path: &Path) -> Result<Self, CertificateError> {
        let text = std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let cert = CertificateDer::pem_slice_iter(&text)
            .next()
            .ok_or("the file holds no `BEGIN CERTIFICATE` block")?
            .map_err(|e| format!("the certificate cannot be read: {e:?}"))?;
        let key = PrivateKeyDer::from_pem_slice(&text)
            .map_err(|_| "the file holds no private key (PKCS#8 or PKCS#1 PEM)".to_owned())?;
        let key = match &key {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => return Err("the private key is not RSA".into()),
        }
        .map_err(|e| format!("the private key cannot be used: {e}"))?;
        Ok(Self::new(key, cert.as_ref()))
    }

    /// A signed assertion for `client_id` at `audience` (the token URL).
    pub fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now_unix: i64,
    ) -> Result<Secret, CertificateError> {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t});
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now_unix,
            "iat": now_unix,
            "exp": now_unix + LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| format!("signing failed: {e}"))?;
        Ok(Secret::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// Client credentials with a certificate-signed assertion.
pub struct ClientCertificate {
    app: AssertionApp,
    certificate: SigningCertificate,
    path: PathBuf,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("app", &self.app)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ClientCertificate {
    /// A source for the app with the certificate at `path`
    /// (`AZURE_CLIENT_CERTIFICATE_PATH`, a PFX opened with `password`); the
    /// file is read now.
    pub fn new(app: AssertionApp, path: PathBuf, password: Option<&str>) -> Result<Self, CertificateError> {
        let certificate = SigningCertificate::from_file(&path, password)?;
        Ok(Self {
            app,
            certificate,
            path,
        })
    }
}

impl TokenSource for ClientCertificate {
    fn fetch<'a>(&'a self, tenant: &'a str, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let audience = self.app.token_url(tenant);
            let now = self.app.clock().wall().as_second();
            let assertion = self
                .certificate
                .assertion(self.app.client_id(), audience.as_str(), now)
                .map_err(|e| AuthError::transport(tenant, &e.0))?;
            self.app.assertion_grant(tenant, scope, &assertion).await
        })
    }
}
