//! One attempt's result as the send loop sees it: the answer, or why there
//! was none; what the retry classifier reads of it; and what a caller gets.

use super::client::{CallError, Response};
use super::retry::Outcome;
use super::service_error::ServiceError;

/// One attempt's answer.
pub(super) struct Answer {
    pub status: u16,
    pub body: bytes::Bytes,
    pub request_id: Option<String>,
    pub location: Option<String>,
    pub retry_after: Option<String>,
    pub error: Option<ServiceError>,
}

/// What the retry classifier needs of an attempt, and its words for a
/// person.
pub(super) fn outcome_of(answer: &Result<Answer, Failure>) -> (Outcome<'_>, String) {
    match answer {
        Ok(r) => (
            Outcome::Status {
                status: r.status,
                retry_after: r.retry_after.as_deref(),
                error_code: r.error.as_ref().and_then(|e| e.code.as_deref()),
            },
            r.error
                .as_ref()
                .map_or_else(|| format!("HTTP {}", r.status), ToString::to_string),
        ),
        Err(Failure::MaybeSent(cause)) => (Outcome::MaybeSent, cause.clone()),
        Err(Failure::NotSent(cause)) => (Outcome::NotSent, cause.clone()),
        Err(Failure::Oversize(cause)) => (Outcome::Oversize, cause.clone()),
    }
}

/// An attempt that got no usable answer.
pub(super) enum Failure {
    /// Nothing reached the service.
    NotSent(String),
    /// The request may have reached it.
    MaybeSent(String),
    /// The answer was over the body cap.
    Oversize(String),
}

impl Failure {
    pub(super) fn cause(self) -> String {
        match self {
            Self::NotSent(c) | Self::MaybeSent(c) | Self::Oversize(c) => c,
        }
    }
}

pub(super) fn finish(kind: &'static str, answer: Result<Answer, Failure>) -> Result<Response, CallError> {
    match answer {
        Ok(a) => match a.error {
            Some(error) => Err(CallError::Service { kind, error }),
            None => Ok(Response {
                status: a.status,
                body: a.body,
                request_id: a.request_id,
                location: a.location,
            }),
        },
        Err(failure) => Err(CallError::GaveUp {
            kind,
            attempts: 1,
            last: failure.cause(),
            request_id: None,
        }),
    }
}
