//! One data row into a device: its values by column, each value checked
//! (file, line, column and a fix for every problem), then the identity
//! that decides the pipe.

use std::sync::Arc;

use super::Row;
use super::checks::{self, FieldError};
use super::dialect::{Column, ColumnMap};
use crate::input::device::{Device, HardwareHash, Identity, RowRef};
use crate::input::problem::{Problem, ProblemCode, Severity, quoted};
use crate::portal::state::DeviceMessage;

/// The values of one row, by column, with the field index each came from.
#[derive(Default)]
pub(super) struct RowFields {
    values: Vec<(Column, usize, String)>,
}

impl RowFields {
    pub(super) fn set(&mut self, column: Column, index: usize, text: String) {
        self.values.push((column, index, text));
    }

    /// The value and its field index; empty values count as absent.
    fn take(&mut self, column: Column) -> Option<(usize, String)> {
        let pos = self
            .values
            .iter()
            .position(|(c, _, t)| *c == column && !t.trim().is_empty())?;
        let (_, index, text) = self.values.swap_remove(pos);
        Some((index, text))
    }
}

/// A value of the row and its field index.
type Field = Option<(usize, String)>;

/// The values of one row, by column.
struct Fields {
    serial: Field,
    hash: Field,
    product_key: Field,
    manufacturer: Field,
    model: Field,
    group_tag: Field,
    user: Field,
    tenant: Field,
}

impl Fields {
    fn take(mut f: RowFields) -> Self {
        Self {
            serial: f.take(Column::Serial),
            hash: f.take(Column::Hash),
            product_key: f.take(Column::ProductKey),
            manufacturer: f.take(Column::Manufacturer),
            model: f.take(Column::Model),
            group_tag: f.take(Column::GroupTag),
            user: f.take(Column::AssignedUser),
            tenant: f.take(Column::Tenant).filter(|(_, t)| !t.trim().is_empty()),
        }
    }
}

/// One value check: what it finds is a problem with this code and hint.
struct Rule {
    check: fn(&str) -> Result<(), FieldError>,
    code: ProblemCode,
    hint: Option<&'static str>,
    portal: Option<DeviceMessage>,
}

const SERIAL: Rule = Rule {
    check: checks::check_serial,
    code: ProblemCode::SerialShape,
    hint: Some(
        "give the serial exactly as the device reports it (`Get-CimInstance Win32_BIOS`); format the column as text in Excel",
    ),
    portal: None,
};
const HASH: Rule = Rule {
    check: |t| checks::check_hash(t).map(drop),
    code: ProblemCode::HashNotValid,
    hint: Some("export the hash again with Get-WindowsAutopilotInfo; do not edit the file in Excel"),
    portal: Some(DeviceMessage::HardwareHashNotValid),
};
const PRODUCT_KEY: Rule = Rule {
    check: checks::check_product_key,
    code: ProblemCode::ProductKeyShape,
    hint: Some("leave `Windows Product ID` empty unless the supplier gave a product key"),
    portal: None,
};
const GROUP_TAG: Rule = Rule {
    check: checks::check_group_tag,
    code: ProblemCode::GroupTagShape,
    hint: None,
    portal: None,
};
const TENANT: Rule = Rule {
    check: checks::check_tenant,
    code: ProblemCode::TenantShape,
    hint: Some("give the customer's tenant id, verified domain or GDAP display name"),
    portal: None,
};
const USER: Rule = Rule {
    check: checks::check_user,
    code: ProblemCode::AssignedUserShape,
    hint: Some("give the user's sign-in name, e.g. `ada@contoso.com`, or leave it empty"),
    portal: None,
};

/// Makes a problem at a field of the row.
struct At<'a> {
    source: &'a RowRef,
    columns: &'a ColumnMap,
}

impl At<'_> {
    fn error(&self, code: ProblemCode, index: usize, message: String) -> Problem {
        Problem::error(&self.source.file, self.source.line, code, message)
            .at(index as u64 + 1, self.columns.name(index))
    }
}

/// Every value's own problems: spaces around identity values (a warning),
/// then each value's shape.
fn value_problems(f: &Fields, at: &At<'_>, problems: &mut Vec<Problem>) {
    for (index, text) in [&f.serial, &f.manufacturer, &f.model].into_iter().flatten() {
        if text.trim() != text {
            problems.push(
                at.error(
                    ProblemCode::SurroundingSpace,
                    *index,
                    format!(
                        "{} has leading or trailing spaces; it is sent as written",
                        quoted(text)
                    ),
                )
                .warning()
                .hint("Autopilot matches values exactly: remove the spaces unless the device reports them"),
            );
        }
    }
    let rules = [
        (&f.serial, SERIAL),
        (&f.hash, HASH),
        (&f.product_key, PRODUCT_KEY),
        (&f.group_tag, GROUP_TAG),
        (&f.tenant, TENANT),
        (&f.user, USER),
    ];
    for (field, rule) in rules {
        let Some((index, text)) = field else { continue };
        if let Err(FieldError(why)) = (rule.check)(text) {
            let mut p = at.error(rule.code, *index, why);
            if let Some(m) = rule.portal {
                p = p.portal(m);
            }
            if let Some(h) = rule.hint {
                p = p.hint(h);
            }
            problems.push(p);
        }
    }
}

/// Turns a row's values into a device or a list of problems.
pub(super) fn build_device(
    source: RowRef,
    f: RowFields,
    columns: &ColumnMap,
    problems: &mut Vec<Problem>,
) -> Row {
    let mut f = Fields::take(f);
    let at = At {
        source: &source,
        columns,
    };
    value_problems(&f, &at, problems);
    let hash_given = f.hash.is_some();
    let identity = identity(&mut f.hash, &f.product_key, &f.manufacturer, &f.model);
    let serial_index = columns.index(Column::Serial);
    if let (Some(Identity::HardwareHash { .. } | Identity::Tuple { .. }), None, Some(index)) =
        (&identity, &f.serial, serial_index)
    {
        problems.push(
            at.error(
                ProblemCode::EmptySerial,
                index,
                "the serial number is empty".into(),
            )
            .hint("every hash or Manufacturer+Model row needs the device's serial number"),
        );
    }
    if identity.is_none() {
        problems.push(no_pipe_problem(
            &source.file,
            source.line,
            columns,
            hash_given,
            &f.manufacturer,
            &f.model,
        ));
    }
    let serial = f.serial.map(|(_, s)| s);
    let valid = !problems.iter().any(|p| p.severity == Severity::Error);
    match identity {
        Some(identity) if valid => Row::Device(
            Device {
                source,
                serial,
                identity,
                group_tag: f.group_tag.map(|(_, t)| t),
                assigned_user: f.user.map(|(_, u)| u),
                manufacturer: f.manufacturer.map(|(_, m)| m),
                model: f.model.map(|(_, m)| m),
                tenant: f.tenant.map(|(_, t)| t.trim().to_owned()),
            },
            std::mem::take(problems),
        ),
        _ => Row::Invalid {
            source,
            serial,
            problems: std::mem::take(problems),
        },
    }
}

/// Chooses the identity: a hash wins (Graph), then Manufacturer+Model (a
/// tuple, with the serial), then a product key alone (both Partner Center).
/// Values the identity takes are moved out of the row.
fn identity(
    hash: &mut Option<(usize, String)>,
    product_key: &Option<(usize, String)>,
    manufacturer: &Option<(usize, String)>,
    model: &Option<(usize, String)>,
) -> Option<Identity> {
    if let Some((_, h)) = hash.take() {
        return Some(Identity::HardwareHash {
            hash: HardwareHash::new(h),
            product_key: product_key.as_ref().map(|(_, k)| k.clone()),
        });
    }
    if let (Some((_, m)), Some((_, n))) = (manufacturer, model) {
        return Some(Identity::Tuple {
            manufacturer: m.clone(),
            model: n.clone(),
        });
    }
    product_key.as_ref().map(|(_, k)| Identity::ProductKey(k.clone()))
}

fn no_pipe_problem(
    file: &Arc<str>,
    line: u64,
    columns: &ColumnMap,
    hash_given: bool,
    manufacturer: &Option<(usize, String)>,
    model: &Option<(usize, String)>,
) -> Problem {
    let missing: Vec<&str> = [
        (Column::Hash, !hash_given),
        (Column::Manufacturer, manufacturer.is_none()),
        (Column::Model, model.is_none()),
    ]
    .into_iter()
    .filter(|(c, absent)| *absent && columns.index(*c).is_some())
    .filter_map(|(c, _)| columns.index(c).and_then(|i| columns.name(i)))
    .collect();
    let column = [Column::Hash, Column::Manufacturer, Column::Model]
        .into_iter()
        .find_map(|c| columns.index(c).filter(|_| !missing.is_empty()));
    let mut p = Problem::error(
        file,
        line,
        ProblemCode::NoPipe,
        format!(
            "no registration pipe can take this row: it has no hardware hash, no Manufacturer+Model, and no product key (empty: {})",
            missing.iter().map(|m| quoted(m)).collect::<Vec<_>>().join(", ")
        ),
    )
    .hint("Graph needs a hardware hash; Partner Center needs Manufacturer, Model and Serial Number exactly as the device's SMBIOS reports them, or a product key");
    if let Some(i) = column {
        p = p.at(i as u64 + 1, columns.name(i));
    }
    p
}
