//! The preview's sorted and filtered pages, ranked file by file without reading the table
//! whole, equal the same pages cut from the whole sorted view: every row, in the same order
//! (ties in table order, nulls last), and the same row count.

use std::path::Path;

use edlake::browse::{Browser, Query};
use edlake::derive::tables;
use edlake::lake::Lake;
use edlake::modules::clever::Clever;
use edlake::pseudo::Salt;

use crate::common;

use common::ingest;

/// A lake with the committed Clever sample delivered in two parts (the first days, then all),
/// so the table has files from two runs in several partitions.
fn clever_lake(dir: &Path) -> Lake {
    let salt = Salt::from_secret("district-salt").unwrap();
    let (lake, _) = Lake::init(&dir.join("lake")).unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/clever");
    let first = dir.join("first");
    let mut files = common::files_under(&sample);
    files.sort();
    for f in files.iter().take(files.len() / 3) {
        let to = first.join(f.strip_prefix(&sample).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(f, to).unwrap();
    }
    ingest(&lake, &Clever::default(), &first, &salt);
    ingest(&lake, &Clever::default(), &sample, &salt);
    lake
}

#[test]
fn sorted_and_filtered_pages_equal_the_whole_views_pages() {
    let dir = tempfile::tempdir().unwrap();
    let lake = clever_lake(dir.path());
    let t = tables::clever_dp();
    let state = lake.table_state(&t).unwrap();
    assert!(state.files.len() > 3, "{} files", state.files.len());
    let big = state.files.iter().filter(|f| f.rows > Some(40)).count();
    assert!(big > 3, "{big} files of more than two pages");
    let rows = state.rows() as usize;
    let sort = |c: &str, desc: bool| Some((c.to_string(), desc));
    let school = text_of_first_row(&lake, "school_name");
    let queries = [
        Query {
            sort: sort("num_logins", true),
            ..Default::default()
        },
        Query {
            sort: sort("school_name", false),
            ..Default::default()
        },
        // A partition column: its value comes from the folder name, not the file.
        Query {
            sort: sort("month", true),
            ..Default::default()
        },
        Query {
            sort: sort("num_resources_accessed", false),
            filter: Some(("school_name".into(), school[..3].to_lowercase())),
            ..Default::default()
        },
        Query {
            exact: vec![("school_name".into(), school.clone())],
            ..Default::default()
        },
        Query {
            sort: sort("date", true),
            exact: vec![("school_name".into(), school.clone())],
            ..Default::default()
        },
    ];
    for q in queries {
        let whole = Browser::new(t.clone()).view(&lake, &q).unwrap();
        assert!(whole.height() > 0, "{q:?} keeps no rows");
        let mut b = Browser::new(t.clone());
        // Pages shorter than a file, so files are cut to the rows that can still rank.
        let size = 20;
        let last = whole.height().saturating_sub(1) / size * size;
        for offset in [0, size, 2 * size, whole.height() / 2, last] {
            let page = b.page(&lake, &q, offset, size).unwrap();
            let want = whole.slice(offset as i64, size);
            assert_eq!(page.total_rows, whole.height(), "{q:?}");
            assert!(
                page.frame.equals_missing(&want),
                "{q:?} at {offset}: {} rows, want {}\n{}\n{}",
                page.frame.height(),
                want.height(),
                page.frame.head(Some(5)),
                want.head(Some(5))
            );
        }
    }
    // The filtered view holds fewer rows than the table, the plain one all of them.
    let plain = Browser::new(t)
        .page(&lake, &Query::default(), 0, 200)
        .unwrap();
    assert_eq!(plain.total_rows, rows);
}

fn text_of_first_row(lake: &Lake, c: &str) -> String {
    let df = Browser::new(tables::clever_dp())
        .page(lake, &Query::default(), 0, 1)
        .unwrap()
        .frame;
    common::text_col(&df, c)[0].clone().unwrap()
}
