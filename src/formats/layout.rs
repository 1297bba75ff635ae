//! Which field is which in a headerless file. A headerless export (Insights / School Data Sync)
//! names its columns elsewhere, and the descriptions can disagree: OEA's metadata lists
//! `PersonDemographic` with 8 columns where the export's own CDM schema lists 7, and
//! `SectionGradeLevel` in another order. Taking the first description by position would shift
//! every column after the difference, silently. So each file is checked against every order the
//! format knows: one with exactly the file's number of fields is preferred, then one with more
//! (the missing trailing columns are empty); within those, the first whose typed columns read the
//! file's first rows. A file that fits none is refused with a reason that names the mismatch.

use super::FormatError;
use super::records::{Next, RecordReader};
use super::spec::BadRow;
use super::spec::{CsvSpec, Layout};
use super::values::parse_field;
use crate::lake::schema::ColType;

/// Rows read before deciding a headerless file's column order.
pub(super) const SAMPLE_ROWS: usize = 200;

/// The order chosen for a file.
#[derive(Debug)]
pub(super) struct Choice {
    /// For each field of a row: its column in the spec's `fields`.
    pub columns: Vec<usize>,
    /// Said in the run report: which order was taken and why, when it was not the obvious one.
    pub notes: Vec<String>,
}

/// How the values of a sample fit one layout (cut to the file's width).
struct Fit<'a> {
    layout: &'a Layout,
    /// Per field: rows whose value does not read as the column's type.
    failures: Vec<u64>,
    rows: u64,
}

impl Fit<'_> {
    /// A few bad values are bad rows (quarantined one by one); a column where more than one in
    /// ten values do not read is the wrong column.
    fn acceptable(&self) -> bool {
        self.failures.iter().all(|f| f * 10 <= self.rows)
    }

    fn total(&self) -> u64 {
        self.failures.iter().sum()
    }
}

fn fit<'a>(
    layout: &'a Layout,
    width: usize,
    sample: &[csv::StringRecord],
    spec: &CsvSpec,
) -> Fit<'a> {
    let mut failures = vec![0u64; width];
    let mut rows = 0;
    for rec in sample.iter().filter(|r| r.len() == width) {
        rows += 1;
        for (i, field) in rec.iter().enumerate() {
            let ty = spec.fields[layout.columns[i]].ty;
            if parse_field(field.as_bytes(), ty, spec.order).is_err() {
                failures[i] += 1;
            }
        }
    }
    Fit {
        layout,
        failures,
        rows,
    }
}

/// The first rows of a headerless file (from `first` on), to decide its column order; blank lines
/// are passed over, unreadable rows go to `bad`.
pub(super) fn sample(
    rdr: &mut RecordReader,
    first: (u64, csv::StringRecord),
    bad: &mut Vec<BadRow>,
) -> Result<std::collections::VecDeque<(u64, csv::StringRecord)>, FormatError> {
    let mut out = std::collections::VecDeque::from([first]);
    let mut rec = csv::StringRecord::new();
    while out.len() < SAMPLE_ROWS {
        match rdr.next(&mut rec)? {
            Next::Row(line) if !super::spec::is_blank(&rec) => out.push_back((line, rec.clone())),
            Next::Row(_) => {}
            Next::Bad(b) => bad.push(b),
            Next::End => break,
        }
    }
    Ok(out)
}

/// Headerless exports sometimes carry a header after all: the first record is one when it holds
/// the column names of one of the format's orders.
pub(super) fn is_header_row(rec: &csv::StringRecord, spec: &CsvSpec) -> bool {
    rec.len() > 1
        && layouts_of(spec).iter().any(|l| {
            rec.iter().zip(&l.columns).all(|(h, &c)| {
                spec.fields[c]
                    .name
                    .eq_ignore_ascii_case(h.trim().trim_start_matches('\u{feff}'))
            })
        })
}

/// The layouts of a spec: its own, or the order of `fields`.
pub(super) fn layouts_of(spec: &CsvSpec) -> Vec<Layout> {
    if spec.layouts.is_empty() {
        vec![Layout {
            source: "the format".into(),
            columns: (0..spec.fields.len()).collect(),
        }]
    } else {
        spec.layouts.to_vec()
    }
}

/// Decides the order of a headerless file's fields from its first rows (`sample`, at least one).
pub(super) fn choose(
    sample: &[csv::StringRecord],
    spec: &CsvSpec,
    display: &str,
) -> Result<Choice, FormatError> {
    let layouts = layouts_of(spec);
    let width = sample.first().map_or(0, |r| r.len());
    let wrong = |detail: String| FormatError::WrongFormat {
        file: display.to_string(),
        what: spec.what.to_string(),
        detail,
    };
    let exact = layouts.iter().filter(|l| l.columns.len() == width);
    let longer = layouts.iter().filter(|l| l.columns.len() > width);
    let mut tried: Vec<Fit> = Vec::new();
    for group in [exact.collect::<Vec<_>>(), longer.collect()] {
        let fits: Vec<Fit> = group
            .into_iter()
            .map(|l| fit(l, width, sample, spec))
            .collect();
        let best = fits
            .iter()
            .filter(|f| f.acceptable())
            .min_by_key(|f| f.total())
            .map(|f| f.layout);
        if let Some(best) = best {
            return Ok(choice(best, &layouts[0], width, display));
        }
        tried.extend(fits);
    }
    let lists = || {
        layouts
            .iter()
            .map(|l| format!("{} lists {}", l.source, l.columns.len()))
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let Some(first) = tried.first() else {
        return Err(wrong(format!(
            "it has {width} fields per row, but {} columns, so which field is which can't be told",
            lists()
        )));
    };
    let (worst, bad) = first
        .failures
        .iter()
        .enumerate()
        .max_by_key(|(_, f)| **f)
        .map(|(i, f)| (i, *f))
        .unwrap_or((0, 0));
    let column = &spec.fields[first.layout.columns[worst]];
    let others: Vec<&str> = tried[1..]
        .iter()
        .map(|f| f.layout.source.as_str())
        .collect();
    Err(wrong(format!(
        "its {width} fields do not fit the columns {}{}: field {} ({}) is not {} in {bad} of the first {} rows",
        first.layout.source,
        if others.is_empty() {
            String::new()
        } else {
            format!(" (nor those of {})", others.join(", "))
        },
        worst + 1,
        column.name,
        type_words(column.ty),
        first.rows
    )))
}

fn choice(chosen: &Layout, preferred: &Layout, width: usize, display: &str) -> Choice {
    let mut notes = Vec::new();
    if chosen != preferred {
        notes.push(format!(
            "{display}: columns read in the order of {} ({} does not describe this file)",
            chosen.source, preferred.source
        ));
    }
    let n = chosen.columns.len();
    if width < n {
        notes.push(format!(
            "{display}: has {width} of the {n} columns {} lists; the last {} are empty",
            chosen.source,
            n - width
        ));
    }
    Choice {
        columns: chosen.columns[..width].to_vec(),
        notes,
    }
}

fn type_words(ty: ColType) -> &'static str {
    match ty {
        ColType::Timestamp => "a date and time",
        ColType::Date => "a date",
        ColType::Boolean => "true or false",
        ColType::Double | ColType::Float => "a number",
        ColType::Integer | ColType::Short | ColType::Long => "a whole number",
        ColType::String => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::parse::FieldSpec;
    use crate::formats::values::DayOrder;

    fn rows(text: &str) -> Vec<csv::StringRecord> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect()
    }

    fn fields() -> Vec<FieldSpec> {
        vec![
            FieldSpec::optional("Id", ColType::String),
            FieldSpec::optional("Ref", ColType::String),
            FieldSpec::optional("Seen", ColType::Timestamp),
            FieldSpec::optional("Other", ColType::String),
        ]
    }

    fn spec<'a>(fields: &'a [FieldSpec], layouts: &'a [Layout]) -> CsvSpec<'a> {
        CsvSpec {
            fields,
            what: "Insights SectionGradeLevel file",
            order: DayOrder::MonthFirst,
            chunk_rows: 10,
            headerless: true,
            layouts,
        }
    }

    fn layouts() -> Vec<Layout> {
        vec![
            Layout {
                source: "the metadata".into(),
                columns: vec![0, 1, 2, 3],
            },
            Layout {
                source: "the schema".into(),
                columns: vec![0, 2, 1, 3],
            },
        ]
    }

    #[test]
    fn the_order_whose_types_fit_is_taken() {
        let (f, l) = (fields(), layouts());
        // The timestamp is the second field: only the schema's order reads it.
        let c = choose(
            &rows("a,2021-08-13,x,y\nb,2021-08-14,z,w\n"),
            &spec(&f, &l),
            "s.csv",
        )
        .unwrap();
        assert_eq!(c.columns, [0, 2, 1, 3]);
        assert!(c.notes[0].contains("the schema"), "{:?}", c.notes);
        // Both fit: the first (the metadata's) wins, without a note.
        let c = choose(&rows("a,x,2021-08-13,y\n"), &spec(&f, &l), "s.csv").unwrap();
        assert_eq!((c.columns, c.notes.len()), (vec![0, 1, 2, 3], 0));
    }

    #[test]
    fn an_exact_width_beats_a_longer_order_and_short_files_fill_the_rest() {
        let f = fields();
        let l = vec![
            Layout {
                source: "the metadata".into(),
                columns: vec![0, 1, 2, 3],
            },
            Layout {
                source: "the schema".into(),
                columns: vec![0, 3, 2],
            },
        ];
        // Three fields, all text in the timestamp's place would not read; here they do.
        let c = choose(&rows("a,y,2021-08-13\n"), &spec(&f, &l), "s.csv").unwrap();
        assert_eq!(c.columns, [0, 3, 2]);
        let c = choose(&rows("a,x\n"), &spec(&f, &l), "s.csv").unwrap();
        assert_eq!(c.columns, [0, 1]);
        assert!(
            c.notes.iter().any(|n| n.contains("2 of the 4 columns")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn a_file_no_order_fits_is_refused_naming_the_mismatch_without_values() {
        let (f, l) = (fields(), layouts());
        let err = choose(&rows("a,b,c,d,e\n"), &spec(&f, &l), "s.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("5 fields per row") && err.contains("the metadata lists 4"),
            "{err}"
        );
        let err = choose(&rows("secret1,secret2,secret3,x\n"), &spec(&f, &l), "s.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("field 3 (Seen) is not a date and time"),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
    }
}
