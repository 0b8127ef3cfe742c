//! The CSV dialects found in the wild (SPEC §6) and how a header is matched
//! to one. Matching ignores case, spaces and underscores so that casing
//! variants are read; `--strict` separately demands the exact header the
//! portal takes. A header that matches nothing is compared with every
//! dialect so the error can say which one it is closest to and what differs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    Serial,
    ProductKey,
    Hash,
    GroupTag,
    AssignedUser,
    Manufacturer,
    Model,
    /// apctl's extension: the customer the row belongs to.
    Tenant,
}

impl Column {
    /// The name a dialect's header uses for it (the Autopilot spelling).
    pub fn canonical(self) -> &'static str {
        match self {
            Self::Serial => "Device Serial Number",
            Self::ProductKey => "Windows Product ID",
            Self::Hash => "Hardware Hash",
            Self::GroupTag => "Group Tag",
            Self::AssignedUser => "Assigned User",
            Self::Manufacturer => "Manufacturer",
            Self::Model => "Model",
            Self::Tenant => "Tenant",
        }
    }

    /// Recognises a header name: case, spaces, hyphens and underscores are
    /// ignored, and the names each dialect uses are all accepted.
    pub fn recognise(name: &str) -> Option<Self> {
        let key: String = name
            .trim_start_matches('\u{feff}')
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-' | '\t'))
            .flat_map(char::to_lowercase)
            .collect();
        Some(match key.as_str() {
            "deviceserialnumber" | "serialnumber" | "serial" => Self::Serial,
            "windowsproductid" | "productkey" | "productid" | "pkid" => Self::ProductKey,
            "hardwarehash" | "hardwareidentifier" | "hash" => Self::Hash,
            "grouptag" => Self::GroupTag,
            "assigneduser" | "assigneduserprincipalname" | "upn" => Self::AssignedUser,
            "manufacturer" | "manufacturername" | "oemmanufacturername" => Self::Manufacturer,
            "model" | "devicemodel" | "modelname" => Self::Model,
            "tenant" | "tenantid" | "customer" | "customertenant" => Self::Tenant,
            _ => return None,
        })
    }
}

/// A known CSV layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// Managed Desktop partner file: `Manufacturer,Model,Serial Number`.
    MmdPartner,
    /// Managed Desktop self-registration: adds `Hardware Hash`.
    MmdSelf,
    /// Get-WindowsAutopilotInfo / Intune portal, with optional
    /// `Group Tag` and `Assigned User`.
    Autopilot,
    /// Get-WindowsAutopilotInfo -Partner / Partner Center upload.
    PartnerCenter,
}

impl Dialect {
    /// Every dialect, in the order of SPEC §6.
    pub const ALL: [Dialect; 4] = [
        Self::MmdPartner,
        Self::MmdSelf,
        Self::Autopilot,
        Self::PartnerCenter,
    ];

    /// A person's name for the dialect.
    pub fn title(self) -> &'static str {
        match self {
            Self::MmdPartner => "Managed Desktop partner (Manufacturer+Model+Serial)",
            Self::MmdSelf => "Managed Desktop self-registration",
            Self::Autopilot => "Get-WindowsAutopilotInfo / Intune",
            Self::PartnerCenter => "Partner Center (Get-WindowsAutopilotInfo -Partner)",
        }
    }

    /// The columns the dialect must have, in order.
    pub fn required(self) -> &'static [Column] {
        use Column::*;
        match self {
            Self::MmdPartner => &[Manufacturer, Model, Serial],
            Self::MmdSelf => &[Manufacturer, Model, Serial, Hash],
            Self::Autopilot => &[Serial, ProductKey, Hash],
            Self::PartnerCenter => &[Serial, ProductKey, Hash, Manufacturer, Model],
        }
    }

    /// Columns the dialect may add after the required ones. Every dialect
    /// may carry apctl's `Tenant` column, naming each row's customer.
    pub fn optional(self) -> &'static [Column] {
        match self {
            Self::Autopilot => &[Column::GroupTag, Column::AssignedUser, Column::Tenant],
            _ => &[Column::Tenant],
        }
    }

    /// The exact headers Microsoft's portals take for this dialect (for
    /// `--strict`). Partner Center sources differ in capitals; both count.
    pub fn exact_headers(self) -> &'static [&'static str] {
        match self {
            Self::MmdPartner => &["Manufacturer,Model,Serial Number"],
            Self::MmdSelf => &["Manufacturer,Model,Serial Number,Hardware Hash"],
            Self::Autopilot => &[
                "Device Serial Number,Windows Product ID,Hardware Hash",
                "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag",
                "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User",
            ],
            Self::PartnerCenter => &[
                "Device Serial Number,Windows Product ID,Hardware Hash,Manufacturer name,Device model",
                "Device serial number,Windows product ID,Hardware hash,Manufacturer name,Device model",
            ],
        }
    }

    /// The header to write for this dialect, as the first exact header.
    pub fn example_header(self) -> &'static str {
        self.exact_headers()[0]
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// Where each column of a recognised header is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMap {
    /// The dialect the header matched.
    pub dialect: Dialect,
    /// For each field index, what it holds.
    pub columns: Vec<Column>,
    /// The header names as written.
    pub names: Vec<String>,
}

impl ColumnMap {
    /// The field index of a column, if the header has it.
    pub fn index(&self, column: Column) -> Option<usize> {
        self.columns.iter().position(|c| *c == column)
    }

    /// The header name of a field, as written.
    pub fn name(&self, index: usize) -> Option<&str> {
        self.names.get(index).map(String::as_str)
    }
}

/// Why a header matched no dialect, with the closest one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderMismatch {
    /// The dialect sharing the most columns with the header.
    pub closest: Dialect,
    /// Columns that dialect needs and the header lacks.
    pub missing: Vec<Column>,
    /// Header names that dialect does not take, as written.
    pub unexpected: Vec<String>,
    /// Header names given twice, as written.
    pub repeated: Vec<String>,
}

/// Matches a header to a dialect: every column must be recognised, none
/// repeated, and together they must be exactly a dialect's required columns
/// plus, in order, any of its optional ones.
pub fn match_header(names: &[String]) -> Result<ColumnMap, HeaderMismatch> {
    let recognised: Vec<Option<Column>> = names.iter().map(|n| Column::recognise(n)).collect();
    let mut seen = Vec::new();
    let mut repeated = Vec::new();
    for (name, col) in names.iter().zip(&recognised) {
        match col {
            Some(c) if seen.contains(c) => repeated.push(name.clone()),
            Some(c) => seen.push(*c),
            None => {}
        }
    }
    let all_known = recognised.iter().all(Option::is_some);
    if all_known && repeated.is_empty() {
        for dialect in Dialect::ALL {
            if fits(dialect, &seen) {
                return Ok(ColumnMap {
                    dialect,
                    columns: seen,
                    names: names.to_vec(),
                });
            }
        }
    }
    Err(closest(names, &recognised, repeated))
}

/// True when the columns are the dialect's required set plus optional ones
/// (any order; the reader maps by name).
fn fits(dialect: Dialect, columns: &[Column]) -> bool {
    let required = dialect.required();
    let optional = dialect.optional();
    required.iter().all(|c| columns.contains(c))
        && columns
            .iter()
            .all(|c| required.contains(c) || optional.contains(c))
}

fn closest(names: &[String], recognised: &[Option<Column>], repeated: Vec<String>) -> HeaderMismatch {
    let score = |d: Dialect| {
        let known = d.required().iter().chain(d.optional());
        let shared = known.filter(|c| recognised.contains(&Some(**c))).count() as i64;
        shared * 2 - d.required().len() as i64
    };
    let closest = Dialect::ALL
        .into_iter()
        .max_by_key(|d| score(*d))
        .unwrap_or(Dialect::Autopilot);
    let missing = closest
        .required()
        .iter()
        .copied()
        .filter(|c| !recognised.contains(&Some(*c)))
        .collect();
    let unexpected = names
        .iter()
        .zip(recognised)
        .filter(|(_, col)| match col {
            Some(c) => !closest.required().contains(c) && !closest.optional().contains(c),
            None => true,
        })
        .map(|(n, _)| n.clone())
        .collect();
    HeaderMismatch {
        closest,
        missing,
        unexpected,
        repeated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> Vec<String> {
        s.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn every_exact_header_matches_its_dialect() {
        for d in Dialect::ALL {
            for h in d.exact_headers() {
                assert_eq!(match_header(&header(h)).unwrap().dialect, d, "{h}");
            }
        }
    }

    #[test]
    fn casing_variants_match() {
        let m = match_header(&header(
            "device serial number,WINDOWS PRODUCT ID,HardwareHash,GroupTag",
        ))
        .unwrap();
        assert_eq!(m.dialect, Dialect::Autopilot);
        assert_eq!(m.index(Column::GroupTag), Some(3));
    }

    #[test]
    fn export_file_header_is_closest_to_mmd_partner_with_extras_named() {
        let names = header(
            r#"displayName,serialNumber,manufacturer,model,enrolmentState,enrolmentProfile,enrolmentType,groupTag,Id"#,
        );
        let err = match_header(&names).unwrap_err();
        assert_eq!(err.closest, Dialect::MmdPartner);
        assert!(err.missing.is_empty());
        assert_eq!(
            err.unexpected,
            [
                "displayName",
                "enrolmentState",
                "enrolmentProfile",
                "enrolmentType",
                "groupTag",
                "Id"
            ]
        );
    }

    #[test]
    fn missing_hash_column_is_named() {
        let err = match_header(&header("Device Serial Number,Windows Product ID")).unwrap_err();
        assert_eq!(err.closest, Dialect::Autopilot);
        assert_eq!(err.missing, [Column::Hash]);
    }

    #[test]
    fn repeated_columns_are_rejected() {
        let err = match_header(&header("Manufacturer,Model,Serial Number,Serial")).unwrap_err();
        assert_eq!(err.repeated, ["Serial"]);
    }
}
