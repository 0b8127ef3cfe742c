//! The services' addresses and the answers' bytes, below both token
//! sources and the client: endpoints and scopes per cloud ([`endpoint`]),
//! answers read whole up to a cap, and network errors without their URLs.

pub mod endpoint;

/// Largest answer body apctl reads: a page of a thousand devices is about
/// 2 MB; more than this is not an answer apctl can use, and reading it
/// whole would cost that much memory.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

sentence_error! {
    /// Why an answer's body could not be read whole.
    BodyError
}

/// How [`BodyError`]'s sentence for an answer over the cap begins.
const TOO_LARGE: &str = "the answer is larger than";

impl BodyError {
    /// The answer was larger than [`MAX_BODY`] (not a broken stream).
    pub fn too_large() -> Self {
        Self(format!(
            "{TOO_LARGE} {} MiB; apctl reads no more of it",
            MAX_BODY >> 20
        ))
    }

    /// True for an answer over the cap.
    pub fn is_too_large(&self) -> bool {
        self.0.starts_with(TOO_LARGE)
    }
}

/// Reads an answer's body, at most [`MAX_BODY`] bytes of it: a larger one
/// is refused as it streams in (or at once, when it says its length).
pub async fn read_body(mut response: reqwest::Response) -> Result<bytes::Bytes, BodyError> {
    let too_big = BodyError::too_large;
    if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_big());
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| BodyError(without_url(&e)))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Reads an answer's body with the cap of [`read_body`] and decodes it as
/// JSON: every answer apctl reads, from any host, is bounded.
pub async fn read_json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, BodyError> {
    let body = read_body(response).await?;
    serde_json::from_slice(&body).map_err(|e| BodyError(format!("the answer is not the expected JSON: {e}")))
}

/// A reqwest error's text without the URL (which may carry a tenant-specific
/// path but never a secret; kept short for people).
pub fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// Reads a `null` in an answer as the field's empty value: the services'
/// schemas allow null where apctl expects a value (a relationship's
/// customer, a record's state, a batch job's status), and a null means "not
/// known yet", never a broken answer.
pub fn null_is_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize as _;
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}
