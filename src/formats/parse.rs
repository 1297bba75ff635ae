//! Reading a delimited text file into typed DataFrame chunks. Good rows land; each bad row is
//! reported with its line, column and reason and kept aside for the quarantine table.

use std::path::Path;

use polars::prelude::*;

use std::collections::VecDeque;

use super::FormatError;
use super::builder::Builder;
use super::layout;
use super::records::{self, Next, RecordReader};
use super::spec::is_blank;
pub use super::spec::{BadRow, CsvSpec, FieldSpec, Layout, ParseSummary};
use super::values::{DayOrder, Value, parse_field};
use crate::lake::schema::ColType;
use crate::progress::Cancel;

/// Which spec field (or extra column) each file column feeds.
struct Mapping {
    /// For each file column: index into `out_cols`.
    file_to_out: Vec<usize>,
    /// Output columns: name, type.
    out_cols: Vec<(String, ColType)>,
    /// Output columns the file does not have (filled with nulls).
    absent: Vec<usize>,
}

fn map_header(
    header: &csv::StringRecord,
    spec: &CsvSpec,
    file: &str,
) -> Result<(Mapping, Vec<String>), FormatError> {
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut out_cols: Vec<(String, ColType)> =
        spec.fields.iter().map(|f| (f.name.clone(), f.ty)).collect();
    let mut file_to_out = Vec::with_capacity(names.len());
    let mut extras = Vec::new();
    let mut seen = vec![false; spec.fields.len()];
    for n in &names {
        match spec
            .fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(n))
        {
            Some(i) if !seen[i] => {
                seen[i] = true;
                file_to_out.push(i);
            }
            _ => {
                let mut name = crate::lake::schema::fix_column_name(n);
                if name.is_empty() || out_cols.iter().any(|(o, _)| o.eq_ignore_ascii_case(&name)) {
                    name = format!("column_{}", file_to_out.len() + 1);
                }
                extras.push(name.clone());
                file_to_out.push(out_cols.len());
                out_cols.push((name, ColType::String));
            }
        }
    }
    let missing: Vec<&str> = spec
        .fields
        .iter()
        .zip(&seen)
        .filter(|(f, s)| f.required && !**s)
        .map(|(f, _)| f.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(FormatError::WrongFormat {
            file: file.to_string(),
            what: spec.what.to_string(),
            // The first line is not echoed: in a file without its header it is a student's row.
            detail: format!(
                "it has no {} column{} (its first line has {} field{}, {} of them the format's)",
                missing.join(", "),
                if missing.len() > 1 { "s" } else { "" },
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                seen.iter().filter(|s| **s).count()
            ),
        });
    }
    let absent = (0..spec.fields.len()).filter(|i| !seen[*i]).collect();
    Ok((
        Mapping {
            file_to_out,
            out_cols,
            absent,
        },
        extras,
    ))
}

/// Columns by position for a headerless file, in the order [`layout::choose`] decided.
fn positional(choice: layout::Choice, spec: &CsvSpec, summary: &mut ParseSummary) -> Mapping {
    let absent = (0..spec.fields.len())
        .filter(|i| !choice.columns.contains(i))
        .collect();
    summary.warnings.extend(choice.notes);
    Mapping {
        file_to_out: choice.columns,
        out_cols: spec.fields.iter().map(|f| (f.name.clone(), f.ty)).collect(),
        absent,
    }
}

/// The first record that is not a blank line (`false`: the file has none).
fn first_record(
    rdr: &mut RecordReader,
    rec: &mut csv::StringRecord,
    display: &str,
) -> Result<bool, FormatError> {
    if !rdr.first(rec)? {
        return Ok(false);
    }
    while is_blank(rec) {
        match rdr.next(rec)? {
            Next::Row(_) => {}
            // An unreadable line before any record: the file is not the format.
            Next::Bad(b) => {
                return Err(FormatError::Read {
                    file: display.to_string(),
                    line: b.line,
                    message: b.reason,
                });
            }
            Next::End => return Ok(false),
        }
    }
    Ok(true)
}

fn raw_line(rec: &csv::StringRecord) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(rec);
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end().to_string()
}

/// Checks that a file's header has the format's required columns (used before landing).
pub fn check_header(path: &Path, display: &str, spec: &CsvSpec) -> Result<(), FormatError> {
    let mut rdr = records::open(path, display)?;
    let mut rec = csv::StringRecord::new();
    match first_record(&mut rdr, &mut rec, display) {
        // A headerless export's empty file is an empty snapshot; a report needs its header.
        Ok(false) if spec.headerless => Ok(()),
        Ok(false) => Err(FormatError::WrongFormat {
            file: display.to_string(),
            what: spec.what.to_string(),
            detail: "it is empty (no header row, no data)".into(),
        }),
        Ok(true)
            if spec.headerless && !rdr.header_given() && !layout::is_header_row(&rec, spec) =>
        {
            let line = rec.position().map(|p| p.line()).unwrap_or(1);
            let rows = layout::sample(&mut rdr, (line, rec), &mut Vec::new())?;
            let rows: Vec<csv::StringRecord> = rows.into_iter().map(|(_, r)| r).collect();
            layout::choose(&rows, spec, display).map(|_| ())
        }
        Ok(true) => map_header(&rec, spec, display).map(|_| ()),
        Err(FormatError::Read { message, .. }) => Err(FormatError::WrongFormat {
            file: display.to_string(),
            what: spec.what.to_string(),
            detail: format!("its first line is not CSV ({message})"),
        }),
        Err(e) => Err(e),
    }
}

/// Reads a CSV, JSON-lines or Parquet file (by its extension). `on_chunk` receives typed
/// chunks of up to `spec.chunk_rows` good rows; bad rows are returned in the summary.
pub fn read_csv<E: From<FormatError>>(
    path: &Path,
    display: &str,
    spec: &CsvSpec,
    cancel: &Cancel,
    on_chunk: &mut dyn FnMut(DataFrame) -> Result<(), E>,
) -> Result<ParseSummary, E> {
    read_records(
        records::open(path, display).map_err(E::from)?,
        display,
        spec,
        cancel,
        on_chunk,
    )
}

/// How the file's columns map to the format's: from its header row, or (a headerless export)
/// from the layout its first rows fit; also the rows sampled to choose it, still to be read.
fn column_map(
    rdr: &mut RecordReader,
    rec: &csv::StringRecord,
    spec: &CsvSpec,
    display: &str,
    summary: &mut ParseSummary,
) -> Result<(Mapping, VecDeque<(u64, csv::StringRecord)>), FormatError> {
    let is_header = rdr.header_given() || layout::is_header_row(rec, spec);
    let mut pending = VecDeque::new();
    let (map, extras) = if spec.headerless && !is_header {
        let line = rec.position().map(|p| p.line()).unwrap_or(1);
        pending = layout::sample(rdr, (line, rec.clone()), &mut summary.bad)?;
        let rows: Vec<csv::StringRecord> = pending.iter().map(|(_, r)| r.clone()).collect();
        let choice = layout::choose(&rows, spec, display)?;
        (positional(choice, spec, summary), Vec::new())
    } else {
        if spec.headerless && !rdr.header_given() {
            summary.warnings.push(format!(
                "{display}: has a header row although the export format has none; columns matched by name"
            ));
        }
        map_header(rec, spec, display)?
    };
    if !extras.is_empty() {
        summary.warnings.push(format!(
            "{display}: extra column{} {} kept as text in the Ingested table",
            if extras.len() > 1 { "s" } else { "" },
            extras.join(", ")
        ));
    }
    summary.extra_columns = extras;
    Ok((map, pending))
}

/// Parses one record's fields into `values`; the bad row when a field is not its column's type.
/// `last` holds each date column's bytes that gave its value in `values` (empty, giving null, at
/// first): a daily file repeats one date on every row, which is then read once, not per row.
fn parse_row(
    rec: &csv::StringRecord,
    line: u64,
    map: &Mapping,
    order: DayOrder,
    values: &mut [Value],
    last: &mut [Vec<u8>],
) -> Option<BadRow> {
    for (i, field) in rec.iter().enumerate() {
        let ty = map.out_cols[map.file_to_out[i]].1;
        let raw = field.as_bytes();
        let date = ty == ColType::Date;
        if date && last[i] == raw {
            continue;
        }
        match parse_field(raw, ty, order) {
            Ok(v) => {
                values[i] = v;
                if date {
                    last[i].clear();
                    last[i].extend_from_slice(raw);
                }
            }
            Err(reason) => {
                let name = &map.out_cols[map.file_to_out[i]].0;
                return Some(BadRow {
                    line,
                    column: Some(format!("{} ({name})", i + 1)),
                    reason: format!("{name} {reason}"),
                    raw: raw_line(rec),
                });
            }
        }
    }
    None
}

fn read_records<E: From<FormatError>>(
    mut rdr: RecordReader,
    display: &str,
    spec: &CsvSpec,
    cancel: &Cancel,
    on_chunk: &mut dyn FnMut(DataFrame) -> Result<(), E>,
) -> Result<ParseSummary, E> {
    let mut summary = ParseSummary::default();
    let mut rec = csv::StringRecord::new();
    if !first_record(&mut rdr, &mut rec, display)? {
        summary
            .warnings
            .push(format!("{display}: the file is empty"));
        // An empty table with the format's columns, so the entity still exists in the lake.
        let cols = spec
            .fields
            .iter()
            .map(|f| Series::new_empty(f.name.as_str().into(), &f.ty.polars()).into())
            .collect();
        on_chunk(DataFrame::new(0, cols).map_err(|e| E::from(e.into()))?)?;
        return Ok(summary);
    }
    let (map, mut pending) = column_map(&mut rdr, &rec, spec, display, &mut summary)?;
    let width = map.file_to_out.len();
    let cap = spec.chunk_rows.max(1);
    let new_builders = || -> Vec<Builder> {
        map.out_cols
            .iter()
            .map(|(n, t)| Builder::new(n, *t, cap.min(1 << 16)))
            .collect()
    };
    let mut builders = new_builders();
    let mut in_chunk = 0usize;
    let mut values: Vec<Value> = vec![Value::Null; width];
    let mut last: Vec<Vec<u8>> = vec![Vec::new(); width];
    let flush = |builders: Vec<Builder>, rows: usize| -> Result<DataFrame, FormatError> {
        let mut cols = Vec::with_capacity(builders.len());
        for (b, (_, ty)) in builders.into_iter().zip(&map.out_cols) {
            cols.push(b.finish(*ty)?.into());
        }
        Ok(DataFrame::new(rows, cols)?)
    };
    loop {
        let line = match pending.pop_front() {
            Some((line, r)) => {
                rec = r;
                line
            }
            None => match rdr.next(&mut rec)? {
                Next::Row(line) => line,
                Next::Bad(b) => {
                    summary.bad.push(b);
                    continue;
                }
                Next::End => break,
            },
        };
        if is_blank(&rec) {
            continue;
        }
        if rec.len() != width {
            summary.bad.push(BadRow {
                line,
                column: None,
                reason: format!("has {} fields, the header has {width}", rec.len()),
                raw: raw_line(&rec),
            });
            continue;
        }
        if let Some(b) = parse_row(&rec, line, &map, spec.order, &mut values, &mut last) {
            summary.bad.push(b);
            continue;
        }
        for (i, field) in rec.iter().enumerate() {
            builders[map.file_to_out[i]].push(values[i], field);
        }
        for &a in &map.absent {
            builders[a].push(Value::Null, "");
        }
        in_chunk += 1;
        summary.rows += 1;
        if in_chunk >= cap {
            cancel.check().map_err(|c| E::from(c.into()))?;
            let full = std::mem::replace(&mut builders, new_builders());
            on_chunk(flush(full, in_chunk).map_err(E::from)?)?;
            in_chunk = 0;
        }
    }
    if in_chunk > 0 || summary.rows == 0 {
        on_chunk(flush(builders, in_chunk).map_err(E::from)?)?;
    }
    Ok(summary)
}

/// The quarantine table's rows for bad rows (rundate, file, row).
pub fn quarantine_frame(
    run_id: &str,
    rows: &[(String, String, BadRow)],
) -> PolarsResult<DataFrame> {
    df!(
        "run_id" => vec![run_id; rows.len()],
        "rundate" => rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        "file" => rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        "line" => rows.iter().map(|r| r.2.line as i64).collect::<Vec<_>>(),
        "column" => rows.iter().map(|r| r.2.column.clone()).collect::<Vec<_>>(),
        "reason" => rows.iter().map(|r| r.2.reason.as_str()).collect::<Vec<_>>(),
        "raw" => rows.iter().map(|r| r.2.raw.as_str()).collect::<Vec<_>>(),
    )
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
