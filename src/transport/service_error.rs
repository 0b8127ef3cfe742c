//! Error bodies of both services, decoded for people: Graph's
//! `{"error":{code,message,innerError}}` with Intune's JSON-in-a-string
//! `message` (sometimes nested twice, sometimes cut off), and Partner
//! Center's `{code,description}` / `{statusCode,message}`. Every decoded
//! error keeps the request id a support case needs.

use serde_json::Value;

use crate::input::problem::quoted;

/// Most characters of a server message shown to a person.
const MAX_MESSAGE: usize = 400;

/// A service's error, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    /// HTTP status.
    pub status: u16,
    /// The error code (`TooManyRequests`, `Forbidden`, `600`…), if given.
    pub code: Option<String>,
    /// The innermost human message, sanitised and cut to a sensible length.
    pub message: String,
    /// The request id: the `request-id` header, `innerError.request-id`,
    /// or the `MS-RequestId` sent to Partner Center.
    pub request_id: Option<String>,
    /// The service's date for the error, when given.
    pub date: Option<String>,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(c) = &self.code {
            write!(f, " {}", quoted(c))?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(r) = &self.request_id {
            write!(f, " (request id {r}")?;
            if let Some(d) = &self.date {
                write!(f, ", {d}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Decodes an error body. `header_request_id` is the response's
/// `request-id` (Graph) or the sent `MS-RequestId` (Partner Center).
pub fn decode(status: u16, header_request_id: Option<&str>, body: &[u8]) -> ServiceError {
    let text = String::from_utf8_lossy(body);
    let json: Option<Value> = serde_json::from_str(&text).ok();
    let mut e = ServiceError {
        status,
        code: None,
        message: String::new(),
        request_id: header_request_id.map(str::to_owned),
        date: None,
    };
    match json {
        Some(Value::Object(o)) if o.get("error").is_some_and(Value::is_object) => {
            let err = &o["error"];
            e.code = err.get("code").and_then(Value::as_str).map(str::to_owned);
            e.message = innermost(err.get("message").and_then(Value::as_str).unwrap_or(""));
            let inner = err.get("innerError").or_else(|| err.get("innererror"));
            if let Some(inner) = inner {
                let rid = inner
                    .get("request-id")
                    .or_else(|| inner.get("requestId"))
                    .and_then(Value::as_str);
                if e.request_id.is_none() {
                    e.request_id = rid.map(str::to_owned);
                }
                e.date = inner.get("date").and_then(Value::as_str).map(str::to_owned);
            }
        }
        Some(Value::Object(o)) => {
            let code = o.get("code").or_else(|| o.get("statusCode"));
            e.code = code.map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned));
            let msg = o
                .get("description")
                .or_else(|| o.get("message"))
                .and_then(Value::as_str);
            e.message = innermost(msg.unwrap_or(""));
        }
        _ => e.message = innermost(&text),
    }
    if e.message.is_empty() {
        e.message = "the service gave no message".into();
    }
    // Whatever the service echoed back (a secret, a token, a hash, escape
    // codes) goes no further than here.
    e.message = clean(&e.message);
    e.code = e.code.as_deref().map(clean);
    e.request_id = e.request_id.as_deref().map(clean);
    e.date = e.date.as_deref().map(clean);
    e
}

/// Unwraps Intune's nested messages: a `message` that is itself a JSON
/// document with a `Message` member, up to three levels deep; a cut-off
/// document is searched for its `Message` text instead of parsed.
pub fn innermost(message: &str) -> String {
    let mut current = message.trim().to_owned();
    for _ in 0..3 {
        if !current.starts_with('{') {
            break;
        }
        match serde_json::from_str::<Value>(&current) {
            Ok(v) => match v
                .get("Message")
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
            {
                Some(inner) => current = inner.trim().to_owned(),
                None => break,
            },
            Err(_) => match message_after_key(&current) {
                Some(inner) => current = inner,
                None => break,
            },
        }
    }
    clean(&current)
}

/// From a cut-off JSON text, the value after the last `"Message":`,
/// unescaped as far as it goes.
fn message_after_key(text: &str) -> Option<String> {
    let key = text.rfind("Message")?;
    let rest = &text[key + "Message".len()..];
    let start = rest.find(|c: char| c.is_alphanumeric())?;
    let rest = &rest[start..];
    let end = rest.find("\\\"").or_else(|| rest.find('"')).unwrap_or(rest.len());
    Some(rest[..end].replace("\\r\\n", " ").replace("\\\\", "\\"))
}

/// Passes the sanitiser (see [`crate::sanitize`]: secrets, tokens,
/// hashes, control characters) and cuts to [`MAX_MESSAGE`] characters.
fn clean(s: &str) -> String {
    let s = crate::sanitize::clean_line(s);
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE)
        .collect();
    if s.chars().count() > MAX_MESSAGE {
        out.push('…');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(name: &str) -> Value {
        let p = format!("{}/testdata/real-world/errors/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    fn body_of(doc: &Value) -> Vec<u8> {
        match doc.get("body_text").and_then(Value::as_str) {
            Some(t) => t.as_bytes().to_vec(),
            None => serde_json::to_vec(&doc["body"]).unwrap(),
        }
    }

    #[test]
    fn nested_intune_429_shows_the_inner_message() {
        let doc = real("graph-429-intune-nested-message.json");
        let e = decode(429, None, &body_of(&doc));
        assert!(
            e.message
                .starts_with("An error has occurred - Operation ID (for customer support)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn doubly_nested_401_shows_the_innermost_message() {
        let doc = real("graph-401-autopilot-unknownerror-double-nested.json");
        let rid = doc["headers"]["request-id"].as_str();
        let e = decode(401, rid, &body_of(&doc));
        assert!(
            e.message.starts_with("An error has occurred - Operation ID"),
            "{}",
            e.message
        );
        assert_eq!(
            e.request_id.as_deref(),
            Some("c64ee84a-7c55-46ab-9181-fb075f6457a1")
        );
    }

    #[test]
    fn graph_envelope_gives_code_request_id_and_date() {
        let doc = real("graph-429-throttling-doc-sample.json");
        let e = decode(429, None, &body_of(&doc));
        assert_eq!(e.code.as_deref(), Some("TooManyRequests"));
        assert_eq!(
            e.request_id.as_deref(),
            Some("94fb3b52-452a-4535-a601-69e0a90e3aa2")
        );
        assert_eq!(e.date.as_deref(), Some("2020-08-18T12:51:51"));
        let doc = real("graph-error-shape-doc-sample.json");
        assert_eq!(
            decode(400, None, &body_of(&doc)).request_id.as_deref(),
            Some("request-id")
        );
        let doc = real("graph-400-imported-identity-patch-no-route.json");
        let e = decode(400, None, &body_of(&doc));
        assert_eq!(e.code.as_deref(), Some("No method match route template"));
    }

    #[test]
    fn the_search_existing_400_shows_its_inner_message_and_request_id() {
        let doc = real("graph-400-autopilot-search-existing-nested.json");
        let e = decode(400, doc["headers"]["request-id"].as_str(), &body_of(&doc));
        assert!(
            e.message
                .starts_with("Invalid Device Identifier parameter found for 1 import records!"),
            "{}",
            e.message
        );
        assert_eq!(
            e.request_id.as_deref(),
            Some("81a461d5-60ed-47da-9c60-f50785091349"),
            "request-id, not client-request-id"
        );
    }

    #[test]
    fn partner_center_shapes() {
        let doc = real("pc-429-throttling-doc-sample.json");
        let e = decode(429, Some("rid-1"), &body_of(&doc));
        assert_eq!(e.code.as_deref(), Some("429"));
        assert_eq!(e.message, "Rate limit is exceeded. Try again in 57 seconds.");
        assert_eq!(e.request_id.as_deref(), Some("rid-1"));
        let e = decode(
            400,
            None,
            br#"{"code":600,"description":"Customer not found","data":[],"source":"PartnerFD"}"#,
        );
        assert_eq!(
            (e.code.as_deref(), e.message.as_str()),
            (Some("600"), "Customer not found")
        );
    }

    #[test]
    fn non_json_bodies_are_cleaned() {
        let e = decode(502, None, b"<html>\x1b[31mBad gateway</html>");
        assert!(!e.message.contains('\x1b'));
        assert!(decode(500, None, b"").message.contains("no message"));
    }
}
