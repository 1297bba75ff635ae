//! Tests of `parse`: good and bad rows, headers, headerless files.
use super::*;
use crate::formats::values::DayOrder;

fn spec() -> Vec<FieldSpec> {
    vec![
        FieldSpec::required("date", ColType::Date),
        FieldSpec::required("id", ColType::String),
        FieldSpec::optional("n", ColType::Integer),
    ]
}

/// A month-first spec with no alternative layouts.
fn csv_spec<'a>(
    fields: &'a [FieldSpec],
    what: &'a str,
    chunk_rows: usize,
    headerless: bool,
) -> CsvSpec<'a> {
    CsvSpec {
        fields,
        what,
        order: DayOrder::MonthFirst,
        chunk_rows,
        headerless,
        layouts: &[],
    }
}

/// Parses CSV `text` with `spec`: the good rows' chunks and the summary.
fn parse_text(text: &str, spec: &CsvSpec) -> Result<(Vec<DataFrame>, ParseSummary), FormatError> {
    let mut frames = Vec::new();
    let mut push = |df| {
        frames.push(df);
        Ok(())
    };
    let rdr = RecordReader::csv(text.as_bytes(), "t.csv");
    let sum = read_records::<FormatError>(rdr, "t.csv", spec, &Cancel::default(), &mut push)?;
    Ok((frames, sum))
}

fn run(text: &str) -> Result<(DataFrame, ParseSummary), FormatError> {
    let fields = spec();
    let s = csv_spec(&fields, "test report", 2, false);
    let (mut frames, sum) = parse_text(text, &s)?;
    let mut df = frames.remove(0);
    for f in frames {
        df.vstack_mut(&f).unwrap();
    }
    Ok((df, sum))
}

#[test]
fn good_rows_land_and_bad_rows_name_line_and_column() {
    let text = "id,date,n,extra\n\"a\",2022-01-9,1,x\nb,2022-13-01,2,y\nc,2022-01-10,zz,z\nd,2022-01-11\ne,2022-01-12,,w\n";
    let (df, sum) = run(text).unwrap();
    assert_eq!(df.height(), 2);
    assert_eq!(sum.rows, 2);
    let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(names, ["date", "id", "n", "extra"]);
    assert_eq!(sum.extra_columns, vec!["extra".to_string()]);
    assert_eq!(sum.bad.len(), 3);
    assert_eq!(sum.bad[0].line, 3);
    assert_eq!(sum.bad[0].column.as_deref(), Some("2 (date)"));
    assert_eq!(sum.bad[1].line, 4);
    assert_eq!(sum.bad[1].column.as_deref(), Some("3 (n)"));
    assert_eq!(sum.bad[2].line, 5);
    assert!(sum.bad[2].reason.contains("2 fields"));
    assert_eq!(df.column("n").unwrap().i32().unwrap().get(1), None);
}

#[test]
fn missing_required_column_rejects_the_file() {
    let err = run("foo,bar\n1,2\n").unwrap_err().to_string();
    assert!(
        err.contains("t.csv") && err.contains("not a test report"),
        "{err}"
    );
    assert!(err.contains("date, id"), "{err}");
}

#[test]
fn headerless_files_map_by_position_and_detect_a_stray_header() {
    let fields = spec();
    let s = csv_spec(&fields, "export", 10, true);
    let run = |text: &str| {
        let (mut frames, sum) = parse_text(text, &s).unwrap();
        (frames.remove(0), sum)
    };
    let (df, sum) = run("2022-01-01,a\n2022-01-02,b\n");
    assert_eq!(df.height(), 2, "the first line is data");
    assert_eq!(df.column("n").unwrap().null_count(), 2);
    assert!(
        sum.warnings[0].contains("2 of the 3 columns"),
        "{:?}",
        sum.warnings
    );
    let (df, sum) = run("date,id,n\n2022-01-01,a,4\n");
    assert_eq!(df.height(), 1);
    assert!(sum.warnings[0].contains("header row"));
}

#[test]
fn missing_optional_column_is_null() {
    let (df, _) = run("date,id\n2022-01-01,a\n").unwrap();
    assert_eq!(df.column("n").unwrap().null_count(), 1);
}

#[test]
fn repeated_dates_are_read_once_and_every_change_is_seen() {
    // A date kept from the row before, changed, empty, bad (with a later field bad too), and
    // back again; each row's date must be its own.
    let text = "date,id,n\n2025-08-25,a,1\n2025-08-25,b,2\n2025-8-26,c,3\n,d,4\n\
                2025-08-26,e,zz\n2025-08-26,f,5\n2025-13-01,g,6\n2025-13-01,h,7\n,i,8\n\
                2025-08-25,j,9\n";
    let (df, sum) = run(text).unwrap();
    let day = |s: &str| {
        let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
    };
    let ids: Vec<&str> = (df.column("id").unwrap().str().unwrap().iter())
        .flatten()
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d", "f", "i", "j"]);
    let dates: Vec<Option<i32>> = (df.column("date").unwrap().date().unwrap().physical())
        .iter()
        .collect();
    let (d25, d26) = (Some(day("2025-08-25")), Some(day("2025-08-26")));
    assert_eq!(dates, [d25, d25, d26, None, d26, None, d25]);
    let lines: Vec<u64> = sum.bad.iter().map(|b| b.line).collect();
    assert_eq!(lines, [6, 8, 9]);
}
