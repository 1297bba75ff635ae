//! Rows of an input file as text records, whatever the file format: CSV, JSON lines or
//! Parquet. The typed parsing, bad-row handling and chunking in `parse` work on these records,
//! so every format gets the same checks and the same line/column messages.

use std::io::{BufRead, Read};
use std::path::Path;

use polars::prelude::*;

use super::FormatError;
use super::spec::BadRow;

/// An input file format, told by the file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    /// One JSON object per line (`.jsonl`, `.ndjson`, `.json`).
    JsonLines,
    Parquet,
}

impl FileFormat {
    /// The format of a file named `name`; `None` for files edlake does not read.
    pub fn of(name: &str) -> Option<FileFormat> {
        let lower = name.to_ascii_lowercase();
        let ext = lower.rsplit_once('.')?.1;
        match ext {
            "csv" | "txt" => Some(FileFormat::Csv),
            "jsonl" | "ndjson" | "json" => Some(FileFormat::JsonLines),
            "parquet" => Some(FileFormat::Parquet),
            _ => None,
        }
    }

    /// The file name without its extension, when the extension is a known format.
    pub fn stem(name: &str) -> Option<&str> {
        FileFormat::of(name)?;
        name.rsplit_once('.').map(|(s, _)| s)
    }
}

/// What the next read gave.
pub enum Next {
    /// A record, read from this line (row number for Parquet).
    Row(u64),
    /// A row that could not be read at all.
    Bad(BadRow),
    End,
}

enum Inner<'a> {
    Csv(csv::Reader<Box<dyn Read + 'a>>),
    Json {
        lines: std::io::Lines<std::io::BufReader<std::fs::File>>,
        keys: Vec<String>,
        line: u64,
    },
    Table {
        cols: Vec<StringChunked>,
        row: usize,
    },
}

/// Reads the records of one file.
pub struct RecordReader<'a> {
    inner: Inner<'a>,
    display: String,
    header_given: bool,
}

impl<'a> RecordReader<'a> {
    /// A CSV reader over any byte stream.
    pub fn csv(reader: impl Read + 'a, display: &str) -> RecordReader<'a> {
        let boxed: Box<dyn Read + 'a> = Box::new(reader);
        RecordReader {
            inner: Inner::Csv(
                csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(boxed),
            ),
            display: display.into(),
            header_given: false,
        }
    }

    /// Whether the first record is a header by construction (JSON keys, Parquet columns).
    pub fn has_named_columns(&self) -> bool {
        !matches!(self.inner, Inner::Csv(_))
    }

    /// The first record of the file: CSV's first line, or the column names of JSON lines
    /// (every key in the order first seen) and Parquet. `false` for an empty file.
    pub fn first(&mut self, rec: &mut csv::StringRecord) -> Result<bool, FormatError> {
        match &mut self.inner {
            Inner::Csv(_) => Ok(matches!(self.next(rec)?, Next::Row(_))),
            Inner::Json { keys, .. } => {
                self.header_given = true;
                *rec = csv::StringRecord::from(keys.clone());
                Ok(!keys.is_empty())
            }
            Inner::Table { cols, .. } => {
                self.header_given = true;
                *rec = cols.iter().map(|c| c.name().as_str()).collect();
                Ok(!cols.is_empty())
            }
        }
    }

    /// Reads the next record into `rec`.
    pub fn next(&mut self, rec: &mut csv::StringRecord) -> Result<Next, FormatError> {
        let display = &self.display;
        match &mut self.inner {
            Inner::Csv(rdr) => match rdr.read_record(rec) {
                Ok(true) => Ok(Next::Row(rec.position().map(|p| p.line()).unwrap_or(0))),
                Ok(false) => Ok(Next::End),
                Err(e) => {
                    if let csv::ErrorKind::Utf8 { pos, err } = e.kind() {
                        return Ok(Next::Bad(BadRow {
                            line: pos.as_ref().map(|p| p.line()).unwrap_or(0),
                            column: Some(format!("{}", err.field() + 1)),
                            reason: "is not valid UTF-8 text".into(),
                            raw: String::new(),
                        }));
                    }
                    Err(FormatError::Read {
                        file: display.clone(),
                        line: e.position().map(|p| p.line()).unwrap_or(0),
                        message: e.to_string(),
                    })
                }
            },
            Inner::Json { lines, keys, line } => loop {
                let Some(text) = lines.next() else {
                    return Ok(Next::End);
                };
                *line += 1;
                let text = text.map_err(|e| FormatError::Read {
                    file: display.clone(),
                    line: *line,
                    message: e.to_string(),
                })?;
                if text.trim().is_empty() {
                    continue;
                }
                return Ok(match json_object(&text) {
                    Ok(obj) => {
                        rec.clear();
                        for k in keys.iter() {
                            rec.push_field(&obj.get(k).map(json_text).unwrap_or_default());
                        }
                        Next::Row(*line)
                    }
                    Err((col, reason)) => Next::Bad(BadRow {
                        line: *line,
                        column: col.map(|c| c.to_string()),
                        reason,
                        raw: text.chars().take(2000).collect(),
                    }),
                });
            },
            Inner::Table { cols, row } => {
                let height = cols.first().map(|c| c.len()).unwrap_or(0);
                if *row >= height {
                    return Ok(Next::End);
                }
                rec.clear();
                for c in cols.iter() {
                    rec.push_field(c.get(*row).unwrap_or(""));
                }
                *row += 1;
                Ok(Next::Row(*row as u64))
            }
        }
    }

    /// Whether [`first`](Self::first) gave column names rather than a CSV line.
    pub fn header_given(&self) -> bool {
        self.header_given
    }
}

/// Opens a file by its extension (CSV when unknown).
pub fn open(path: &Path, display: &str) -> Result<RecordReader<'static>, FormatError> {
    let file = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let format = FileFormat::of(display)
        .or_else(|| FileFormat::of(&path.to_string_lossy()))
        .unwrap_or(FileFormat::Csv);
    let inner = match format {
        FileFormat::Csv => {
            return Ok(RecordReader::csv(
                std::io::BufReader::with_capacity(1 << 20, file),
                display,
            ));
        }
        FileFormat::JsonLines => {
            // Keys can differ between lines: the columns are every key, in first-seen order.
            let mut keys: Vec<String> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for text in std::io::BufReader::new(file).lines() {
                let text = text.map_err(|e| FormatError::io(path, e))?;
                if let Ok(obj) = json_object(&text) {
                    for k in obj.keys() {
                        if seen.insert(k.clone()) {
                            keys.push(k.clone());
                        }
                    }
                }
            }
            let again = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
            Inner::Json {
                lines: std::io::BufReader::new(again).lines(),
                keys,
                line: 0,
            }
        }
        FileFormat::Parquet => {
            let df = ParquetReader::new(file)
                .finish()
                .map_err(|e| FormatError::WrongFormat {
                    file: display.into(),
                    what: "Parquet file".into(),
                    detail: format!("it could not be read ({e})"),
                })?;
            let mut cols = Vec::with_capacity(df.width());
            for c in df.columns() {
                let s = c
                    .cast(&DataType::String)
                    .map_err(|e| FormatError::WrongFormat {
                        file: display.into(),
                        what: "Parquet file".into(),
                        detail: format!("column {} cannot be read as text ({e})", c.name()),
                    })?;
                cols.push(s.str().map_err(FormatError::from)?.clone());
            }
            Inner::Table { cols, row: 0 }
        }
    };
    Ok(RecordReader {
        inner,
        display: display.into(),
        header_given: false,
    })
}

type JsonObject = serde_json::Map<String, serde_json::Value>;

/// Parses one JSON-lines record; on failure the column (character position) and reason.
fn json_object(text: &str) -> Result<JsonObject, (Option<usize>, String)> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err((None, "is not a JSON object".into())),
        Err(e) => Err((Some(e.column()), format!("is not valid JSON ({e})"))),
    }
}

/// A JSON value as the text a CSV file would hold.
fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}
