//! Per-file decision whether slash dates are day-first or month-first.

use std::path::Path;

use super::FormatError;
use super::records::{self, Next};
use super::spec::CsvSpec;
use super::values::DayOrder;
use crate::lake::schema::ColType;

/// How a file's slash dates (`1/9/2019`) were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOrderDecision {
    pub order: DayOrder,
    /// What the decision rests on, for the run log.
    pub reason: String,
}

/// Decides per file whether slash dates are day-first or month-first, from dates that only fit
/// one way (`28/05/2020`). Never row by row: the whole file is read one way, and the decision is
/// reported. Without evidence, `fallback` is used (and said so).
pub fn detect_day_order(
    path: &Path,
    display: &str,
    spec: &CsvSpec,
    fallback: DayOrder,
) -> Result<DayOrderDecision, FormatError> {
    let mut rdr = records::open(path, display)?;
    let mut header = csv::StringRecord::new();
    if !rdr.first(&mut header)? {
        return Ok(DayOrderDecision {
            order: fallback,
            reason: String::new(),
        });
    }
    let date_cols: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            spec.fields.iter().any(|f| {
                f.name.eq_ignore_ascii_case(h.trim())
                    && matches!(f.ty, ColType::Date | ColType::Timestamp)
            })
        })
        .map(|(i, _)| i)
        .collect();
    let (mut day_first, mut month_first) = (None, None);
    let mut saw_slash = false;
    let mut rec = csv::StringRecord::new();
    loop {
        let line = match rdr.next(&mut rec)? {
            Next::Row(l) => l,
            Next::Bad(_) => continue,
            Next::End => break,
        };
        for &i in &date_cols {
            saw_slash |= rec.get(i).is_some_and(|f| f.contains('/'));
            match rec
                .get(i)
                .and_then(|f| super::values::slash_date_evidence(f.as_bytes()))
            {
                Some(DayOrder::DayFirst) => {
                    day_first.get_or_insert(line);
                }
                Some(DayOrder::MonthFirst) => {
                    month_first.get_or_insert(line);
                }
                _ => {}
            }
        }
        if day_first.is_some() && month_first.is_some() {
            break;
        }
    }
    let fb = if fallback == DayOrder::DayFirst {
        "day-first"
    } else {
        "month-first"
    };
    Ok(match (day_first, month_first) {
        (Some(l), None) => DayOrderDecision {
            order: DayOrder::DayFirst,
            reason: format!("{display}: dates read day-first (line {l} only fits day-first)"),
        },
        (None, Some(l)) => DayOrderDecision {
            order: DayOrder::MonthFirst,
            reason: format!("{display}: dates read month-first (line {l} only fits month-first)"),
        },
        (Some(d), Some(m)) => DayOrderDecision {
            order: fallback,
            reason: format!(
                "{display}: dates disagree (line {d} only fits day-first, line {m} only month-first); \
                 read {fb}, rows that do not fit go to quarantine"
            ),
        },
        (None, None) if saw_slash => DayOrderDecision {
            order: fallback,
            reason: format!("{display}: no date settles day-first or month-first; read {fb}"),
        },
        (None, None) => DayOrderDecision {
            order: fallback,
            reason: String::new(),
        },
    })
}
