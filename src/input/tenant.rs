//! How input names a customer, and the one parser of that text: a tenant
//! id, a verified domain, or a GDAP display name (resolved later).

use crate::input::csv::checks::FieldError;

/// How a `--tenant` value, a `Tenant` cell or a manifest names a customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantRef {
    /// A tenant id (GUID).
    Id(String),
    /// A verified domain (`contoso.onmicrosoft.com`).
    Domain(String),
    /// A GDAP display name, resolved through the relationships.
    Name(String),
}

impl TenantRef {
    /// Tells ids, domains and display names apart.
    pub fn parse(text: &str) -> Self {
        let t = text.trim();
        let guid = t.len() == 36
            && t.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            && t.matches('-').count() == 4;
        let domain = t.contains('.')
            && !t.contains(' ')
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
        if guid {
            Self::Id(t.to_ascii_lowercase())
        } else if domain {
            Self::Domain(t.to_ascii_lowercase())
        } else {
            Self::Name(t.to_owned())
        }
    }

    /// Checks what a person wrote for a customer: not empty, no control
    /// characters or `/`, at most 256 characters; then tells what it is.
    pub fn check(text: &str) -> Result<Self, FieldError> {
        let t = text.trim();
        if t.is_empty() || t.chars().any(char::is_control) || t.contains('/') || t.len() > 256 {
            return Err(FieldError(format!(
                "`{t}` is not a tenant id, verified domain (like `contoso.onmicrosoft.com`) or customer name"
            )));
        }
        Ok(Self::parse(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_domains_and_names_apart() {
        assert_eq!(
            TenantRef::parse(" 2F1C5E8A-8A53-4D4C-9A5E-0C1F7B3A9D01 "),
            TenantRef::Id("2f1c5e8a-8a53-4d4c-9a5e-0c1f7b3a9d01".into())
        );
        assert_eq!(
            TenantRef::parse("Contoso.onmicrosoft.com"),
            TenantRef::Domain("contoso.onmicrosoft.com".into())
        );
        assert_eq!(
            TenantRef::parse("Contoso Ltd"),
            TenantRef::Name("Contoso Ltd".into())
        );
        assert!(TenantRef::check("../x").is_err());
        assert!(TenantRef::check("a\tb").is_err());
        assert!(TenantRef::check("  ").is_err());
        assert_eq!(
            TenantRef::check("Fabrikam Inc"),
            Ok(TenantRef::Name("Fabrikam Inc".into()))
        );
    }
}
