//! edX MicroMasters reports: completion counts and both outreach lists against values computed
//! here straight from the generated edX CSV downloads; emails never reach general tables; a
//! newer download of a run updates it.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use edlake::derive::micromasters::{self, ProgramDef, report_table};
use edlake::lake::{Lake, Layer, delta};
use edlake::modules::edx::Edx;
use edlake::pseudo::{Salt, hash_value};
use polars::prelude::*;

struct Enrolment {
    learner: String,
    email: String,
    course: String,
    track: String,
    grade: f64,
}

fn read_downloads(dir: &Path) -> Vec<Enrolment> {
    let mut out = Vec::new();
    for f in common::files_under(dir) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if !name.contains("_grade_report_") {
            continue;
        }
        let parts: Vec<&str> = name.split('_').collect();
        let course = format!("{}+{}", parts[0], parts[1]);
        let mut r = csv::Reader::from_path(&f).unwrap();
        let h = r.headers().unwrap().clone();
        let at = |n: &str| h.iter().position(|c| c == n).unwrap();
        let (id, email, grade, track) = (
            at("Student ID"),
            at("Email"),
            at("Grade"),
            at("Enrollment Track"),
        );
        for rec in r.records() {
            let rec = rec.unwrap();
            out.push(Enrolment {
                learner: rec[id].to_string(),
                email: rec[email].to_string(),
                course: course.clone(),
                track: rec[track].to_string(),
                grade: rec[grade].parse().unwrap(),
            });
        }
    }
    out
}

fn strings(df: &DataFrame, c: &str) -> Vec<String> {
    common::text_col(df, c)
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect()
}

fn read(lake: &Lake, layer: Layer, name: &str) -> DataFrame {
    delta::read_table(&lake.table_dir(&report_table(layer, name)), None).unwrap()
}

#[test]
fn completion_counts_and_outreach_lists_match_an_independent_computation() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("edx");
    edlake::generate::edx::write(&data, 400, 9).unwrap();
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::from_secret("edx-salt").unwrap();
    common::ingest(&lake, &Edx::new().unwrap(), &data, &salt);
    let program: ProgramDef =
        serde_json::from_str(&std::fs::read_to_string(data.join("program.json")).unwrap()).unwrap();
    program.check().unwrap();
    program.save(&lake).unwrap();
    assert_eq!(ProgramDef::load(&lake).unwrap().as_ref(), Some(&program));
    let report = micromasters::build(&lake, &program, &salt)
        .unwrap()
        .unwrap();

    // Independent computation from the CSV downloads.
    let rows = read_downloads(&data);
    let pass: BTreeMap<&str, f64> = program
        .courses
        .iter()
        .map(|c| (c.course.as_str(), c.passing_grade))
        .collect();
    let passes = |e: &Enrolment| e.grade >= pass[e.course.as_str()];
    let mut passed: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut eligible: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &rows {
        passed.entry(&e.learner).or_default();
        eligible.entry(&e.learner).or_default();
        if passes(e) {
            passed
                .get_mut(e.learner.as_str())
                .unwrap()
                .insert(&e.course);
            if e.track == "verified" {
                eligible
                    .get_mut(e.learner.as_str())
                    .unwrap()
                    .insert(&e.course);
            }
        }
    }
    let completed: BTreeSet<&str> = eligible
        .iter()
        .filter(|(_, c)| c.len() == program.courses.len())
        .map(|(l, _)| *l)
        .collect();
    let upgrade: BTreeSet<(String, String)> = rows
        .iter()
        .filter(|e| e.track == "audit" && passes(e))
        .map(|e| (e.email.clone(), e.course.clone()))
        .collect();
    let next: BTreeSet<String> = passed
        .iter()
        .filter(|(l, c)| !c.is_empty() && !completed.contains(*l))
        .map(|(l, _)| l.to_string())
        .collect();
    assert!(!completed.is_empty() && !upgrade.is_empty() && !next.is_empty());

    assert_eq!(report.learners, passed.len());
    assert_eq!(report.enrolments, rows.len());
    assert_eq!(report.completed, completed.len());
    assert_eq!(
        report.passed_any,
        passed.values().filter(|c| !c.is_empty()).count()
    );

    // Completion table (general, by pseudonym).
    let c = read(&lake, Layer::General, "completion");
    let learners = strings(&c, "learner");
    let done = strings(&c, "completed_program");
    let npass = strings(&c, "courses_passed");
    let nelig = strings(&c, "certificate_eligible_courses");
    for (l, set) in &passed {
        let i = learners
            .iter()
            .position(|x| *x == hash_value(l, &salt))
            .unwrap();
        assert_eq!(npass[i], set.len().to_string(), "learner {l}");
        assert_eq!(nelig[i], eligible[l].len().to_string());
        assert_eq!(done[i], completed.contains(l).to_string());
    }

    // Outreach lists (sensitive): exactly the expected learners, with their emails.
    let up = read(&lake, Layer::Sensitive, "upgrade_candidates");
    let got: BTreeSet<(String, String)> = strings(&up, "email")
        .into_iter()
        .zip(strings(&up, "course"))
        .collect();
    assert_eq!(got, upgrade);
    let nx = read(&lake, Layer::Sensitive, "next_course_candidates");
    let got: BTreeSet<String> = strings(&nx, "learner_id").into_iter().collect();
    assert_eq!(got, next);

    // No raw email, username or learner id in any general table of the program or of edX.
    let emails: BTreeSet<&str> = rows.iter().map(|e| e.email.as_str()).collect();
    let ids: BTreeSet<&str> = rows.iter().map(|e| e.learner.as_str()).collect();
    for t in [
        report_table(Layer::General, "learners"),
        report_table(Layer::General, "enrolments"),
        report_table(Layer::General, "completion"),
        edlake::lake::TableRef::new(Layer::General, "edx", "v1.0", "grade_report"),
        edlake::lake::TableRef::new(Layer::General, "edx", "v1.0", "profile_info"),
    ] {
        let df = delta::read_table(&lake.table_dir(&t), None).unwrap();
        for col in df.get_column_names() {
            for v in strings(&df, col) {
                assert!(
                    !emails.contains(v.as_str()) && !ids.contains(v.as_str()) && !v.contains('@'),
                    "{v} in {}",
                    t.id()
                );
            }
        }
    }
}

#[test]
fn a_newer_download_updates_its_run_and_programs_can_require_fewer_courses() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("edx");
    edlake::generate::edx::write(&data, 120, 3).unwrap();
    let (lake, _) = Lake::init(&dir.path().join("lake")).unwrap();
    let salt = Salt::from_secret("s").unwrap();
    common::ingest(&lake, &Edx::new().unwrap(), &data, &salt);
    let mut program = micromasters::program_from_data(&lake).unwrap();
    assert_eq!(program.courses.len(), 5);
    program.required = Some(1);
    let r = micromasters::build(&lake, &program, &salt)
        .unwrap()
        .unwrap();
    // With one course required, completing = at least one verified pass.
    assert!(r.completed > 0);
    let enrol = read(&lake, Layer::General, "enrolments");
    let before = enrol.height();

    // Re-download one run later with the first learner's grade changed to 0.
    let run = common::files_under(&data)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("DA101x_1T2025_grade_report"))
        .unwrap();
    let text = std::fs::read_to_string(&run).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut first: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    let learner = first[0].clone();
    first[3] = "0.00".into();
    lines[1] = first.join(",");
    let newer = dir
        .path()
        .join("again/DemoX_DA101x_1T2025_grade_report_2025-06-01-0900.csv");
    std::fs::create_dir_all(newer.parent().unwrap()).unwrap();
    std::fs::write(&newer, lines.join("\n") + "\n").unwrap();
    common::ingest(&lake, &Edx::new().unwrap(), newer.parent().unwrap(), &salt);
    micromasters::build(&lake, &program, &salt)
        .unwrap()
        .unwrap();
    let enrol = read(&lake, Layer::General, "enrolments");
    assert_eq!(enrol.height(), before, "upserted, not appended");
    let ls = strings(&enrol, "learner");
    let courses = strings(&enrol, "course");
    let runs = strings(&enrol, "run");
    let grades = strings(&enrol, "grade");
    let i = (0..enrol.height())
        .find(|&i| {
            ls[i] == hash_value(&learner, &salt)
                && courses[i] == "DemoX+DA101x"
                && runs[i] == "1T2025"
        })
        .unwrap();
    assert_eq!(grades[i], "0.0");
}
