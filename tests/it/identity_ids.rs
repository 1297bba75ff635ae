//! The identity map keeps each source's student ids between builds and reads only the data
//! files added since: a new file's students join the map, a removed file's students leave it,
//! and the map equals one built with nothing kept. Expected ids are read from the general
//! tables here, not from edlake's list.

use std::collections::BTreeSet;
use std::path::Path;

use edlake::derive::identity::{self, IdentityConfig};
use edlake::derive::tables;
use edlake::lake::{Lake, delta};
use edlake::modules::clever::Clever;
use edlake::pseudo::{Salt, hash_value};
use polars::prelude::*;

use crate::common;
use crate::roster::{generate, sync};

/// Distinct student pseudonyms of the Clever general tables (students' participation rows and
/// resource usage), as the identity map should list them.
fn clever_ids_in_tables(lake: &Lake) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (t, students_only) in [(tables::clever_dp(), true), (tables::clever_ru(), false)] {
        let df = delta::read_table(&lake.table_dir(&t), None).unwrap();
        let df = match students_only {
            true => df
                .lazy()
                .filter(col("role").eq(lit("students")))
                .collect()
                .unwrap(),
            false => df,
        };
        let c = df
            .column("sis_id_pseudonym")
            .unwrap()
            .str()
            .unwrap()
            .clone();
        ids.extend(c.iter().flatten().map(str::to_string));
    }
    ids
}

/// The map's rows, sorted, and its Clever source ids.
fn map(lake: &Lake) -> (Vec<String>, BTreeSet<String>) {
    let df = delta::read_table(&lake.table_dir(&identity::map_table()), None).unwrap();
    let text = |c: &str| -> Vec<Option<String>> {
        let s = df.column(c).unwrap().str().unwrap().clone();
        s.iter().map(|v| v.map(str::to_string)).collect()
    };
    let (source, id, person, how) = (
        text("source"),
        text("source_pseudonym"),
        text("person_pseudonym"),
        text("match"),
    );
    let mut rows = Vec::new();
    let mut clever = BTreeSet::new();
    for i in 0..df.height() {
        rows.push(format!(
            "{:?}|{:?}|{:?}|{:?}",
            source[i], id[i], person[i], how[i]
        ));
        if source[i].as_deref() == Some("clever") {
            clever.insert(id[i].clone().unwrap());
        }
    }
    rows.sort();
    (rows, clever)
}

/// Moves the last students' participation file of `data` to `late/`, three of its students
/// renamed to ones no other file has.
fn hold_back_a_day(data: &Path, late: &Path) -> Vec<String> {
    let students = data.join("clever/daily-participation/Students");
    let mut files: Vec<_> = std::fs::read_dir(&students)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let last = files.pop().unwrap();
    let text = std::fs::read_to_string(&last).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let at = header.iter().position(|c| *c == "sis_id").unwrap();
    let mut renamed = Vec::new();
    for (k, line) in lines.iter_mut().skip(1).take(3).enumerate() {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        cells[at] = format!("late-student-{k}");
        renamed.push(cells[at].clone());
        *line = cells.join(",");
    }
    let to = late.join("daily-participation/Students");
    std::fs::create_dir_all(&to).unwrap();
    std::fs::write(to.join(last.file_name().unwrap()), lines.join("\n") + "\n").unwrap();
    std::fs::remove_file(&last).unwrap();
    renamed
}

#[test]
fn source_ids_follow_added_and_removed_files_and_equal_a_fresh_build() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, 60);
    let late = dir.path().join("late");
    let renamed = hold_back_a_day(&data, &late);
    let salt = Salt::from_secret("district-salt").unwrap();
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    common::ingest(&lake, &Clever::default(), &data.join("clever"), &salt);
    sync(&lake, &data.join("clever_roster"), &salt);
    let config = IdentityConfig::load(&lake).unwrap();
    identity::rebuild(&lake, &config).unwrap().unwrap();
    assert_eq!(map(&lake).1, clever_ids_in_tables(&lake));

    // A new day: only its file is read, and its new students are in the map.
    common::ingest(&lake, &Clever::default(), &late, &salt);
    identity::rebuild(&lake, &config).unwrap().unwrap();
    let (rows, clever) = map(&lake);
    let want = clever_ids_in_tables(&lake);
    assert_eq!(clever, want);
    for raw in &renamed {
        assert!(clever.contains(&hash_value(raw, &salt)), "{raw} missing");
    }
    // The same map as a build that keeps nothing from before.
    let kept = lake.meta_dir().join("identity/clever_ids.json");
    assert!(kept.is_file());
    std::fs::remove_file(&kept).unwrap();
    identity::rebuild(&lake, &config).unwrap().unwrap();
    assert_eq!(map(&lake).0, rows);

    // The late day's data file removed from the table (as a delete does): its students leave.
    let dp = lake.table_dir(&tables::clever_dp());
    let state = delta::read_state(&dp).unwrap().unwrap();
    let late_pseudonym = hash_value(&renamed[0], &salt);
    let holding: std::collections::HashSet<String> = state
        .files
        .iter()
        .filter(|f| {
            let one = delta::read_file(&dp, &state, f, None, Some(&["sis_id_pseudonym"])).unwrap();
            let c = one
                .column("sis_id_pseudonym")
                .unwrap()
                .str()
                .unwrap()
                .clone();
            c.iter().flatten().any(|v| v == late_pseudonym)
        })
        .map(|f| f.path.clone())
        .collect();
    assert_eq!(holding.len(), 1);
    delta::commit_swap(&dp, &state.schema, &[], &holding).unwrap();
    identity::rebuild(&lake, &config).unwrap().unwrap();
    let (_, clever) = map(&lake);
    assert_eq!(clever, clever_ids_in_tables(&lake));
    for raw in &renamed {
        assert!(
            !clever.contains(&hash_value(raw, &salt)),
            "{raw} still listed"
        );
    }
}
