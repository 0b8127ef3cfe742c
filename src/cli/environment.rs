//! The variables apctl reads, as a pipeline hands them over (issue #27).
//! An empty one is unset, the same in every command (GitHub's
//! `${{ vars.X }}` gives an empty text when `X` is not defined). One that
//! still holds a pipeline's variable syntax — Azure DevOps leaves
//! `$(NAME)` as written when `NAME` is not defined — is refused before
//! anything is done, naming the variable and the fix.

/// Every variable apctl's commands or its credential modes read.
const READ: &[&str] = &[
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "APCTL_REFRESH_TOKEN",
    "APCTL_STATE_DIR",
    "APCTL_GRAPH_URL",
    "APCTL_PARTNER_CENTER_URL",
    "APCTL_CLOUD",
    "APCTL_TIME_SCALE",
    "APCTL_MANAGED_IDENTITY",
    "APCTL_MANAGED_IDENTITY_CLIENT_ID",
    "APCTL_SERVICE_CONNECTION_ID",
    "APCTL_USE_AZURE_CLI",
    "AZURESUBSCRIPTION_CLIENT_ID",
    "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
    "SYSTEM_ACCESSTOKEN",
    "SYSTEM_OIDCREQUESTURI",
];

/// Unsets every variable of [`READ`] that is empty or blank. Called first
/// thing in `main`, before any thread starts.
pub fn unset_empty() {
    for name in READ {
        if std::env::var_os(name).is_some_and(|v| v.to_string_lossy().trim().is_empty()) {
            // SAFETY: `main` calls this before it starts any thread, so no
            // other thread reads or writes the environment meanwhile.
            unsafe { std::env::remove_var(name) };
        }
    }
}

/// One error for every variable of [`READ`] whose value is a pipeline
/// variable that was never expanded.
pub fn check() -> anyhow::Result<()> {
    let mut found = Vec::new();
    for name in READ {
        if let Some(value) = std::env::var(name).ok()
            && let Some(variable) = unexpanded(&value)
        {
            found.push(format!(
                "{name} is `{}` ({variable} was never defined)",
                value.trim()
            ));
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(crate::cli::hinted!(
        "define the variable in the pipeline (or its variable group, or the repository's variables), and map secrets into the step's `env:`; an empty value counts as unset",
        "a pipeline variable was passed on as written: {}",
        found.join("; ")
    ))
}

/// The name of the pipeline variable a whole value still holds:
/// `$(NAME)`, `${{ expression }}`, `${NAME}` or `$NAME`.
pub fn unexpanded(value: &str) -> Option<&str> {
    let v = value.trim();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    if let Some(inner) = v.strip_prefix("${{").and_then(|r| r.strip_suffix("}}")) {
        return Some(inner.trim());
    }
    let inner = v
        .strip_prefix("$(")
        .and_then(|r| r.strip_suffix(')'))
        .or_else(|| v.strip_prefix("${").and_then(|r| r.strip_suffix('}')))
        .or_else(|| v.strip_prefix('$'))?;
    name_ok(inner).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_syntax_left_as_written_is_recognised() {
        assert_eq!(unexpanded("$(PARTNER_TENANT_ID)"), Some("PARTNER_TENANT_ID"));
        assert_eq!(unexpanded(" ${{ vars.TENANT }} "), Some("vars.TENANT"));
        assert_eq!(unexpanded("${TENANT}"), Some("TENANT"));
        assert_eq!(unexpanded("$TENANT"), Some("TENANT"));
        assert_eq!(unexpanded("contoso.onmicrosoft.com"), None);
        assert_eq!(unexpanded("ab$cd~ef"), None, "a secret holding a `$` is not one");
        assert_eq!(unexpanded("$"), None);
        assert_eq!(unexpanded("$(1BAD)"), None);
    }
}
