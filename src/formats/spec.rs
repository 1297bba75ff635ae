//! What a file format is: its columns, the orders a headerless file's fields may come in, how
//! to read one file, and what reading produced (rows, bad rows, warnings).

use super::values::DayOrder;
use crate::lake::schema::ColType;

/// A column a file format is expected to have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: String,
    pub ty: ColType,
    /// Files without this column are rejected as not being this format.
    pub required: bool,
}

impl FieldSpec {
    /// A column that must be present.
    pub fn required(name: &str, ty: ColType) -> Self {
        Self {
            name: name.into(),
            ty,
            required: true,
        }
    }

    /// A column that may be missing (it is then null).
    pub fn optional(name: &str, ty: ColType) -> Self {
        Self {
            name: name.into(),
            ty,
            required: false,
        }
    }
}

/// One order of a headerless format's columns, as one description of its files gives it (OEA's
/// metadata, an export's own schema). See [`super::layout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Where the order comes from, for messages (`OEA's metadata`).
    pub source: String,
    /// For each field of a row, in order: its column in the format's fields.
    pub columns: Vec<usize>,
}

/// How to read one file.
#[derive(Debug, Clone)]
pub struct CsvSpec<'a> {
    pub fields: &'a [FieldSpec],
    /// Name of the format, for messages (`Clever daily-participation report`).
    pub what: &'a str,
    pub order: DayOrder,
    /// Rows per emitted chunk (bounds memory on huge files).
    pub chunk_rows: usize,
    /// Files have no header: columns come in `fields` order, or in one of `layouts`.
    pub headerless: bool,
    /// The orders a headerless file's fields may come in (empty: `fields` order).
    pub layouts: &'a [Layout],
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    pub line: u64,
    /// `7 (num_logins)`: 1-based position and name, when one field is to blame.
    pub column: Option<String>,
    pub reason: String,
    /// The row's fields re-joined with commas, kept only in the restricted quarantine table.
    pub raw: String,
}

/// What reading a file produced besides its chunks.
#[derive(Debug, Default)]
pub struct ParseSummary {
    pub rows: u64,
    pub bad: Vec<BadRow>,
    pub warnings: Vec<String>,
    /// Columns found in the file that the format does not define (kept as text).
    pub extra_columns: Vec<String>,
}

/// Whether a record is one empty field (a blank line).
pub fn is_blank(rec: &csv::StringRecord) -> bool {
    rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim().is_empty())
}
