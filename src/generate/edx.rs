//! edX course downloads for a MicroMasters program of five courses with three runs each, in
//! the formats the edX instructor dashboard exports: per course run a `grade_report` and a
//! `student_profile_info` CSV, named as edX names them
//! (`DemoX_DA101x_1T2025_grade_report_2025-05-02-1200.csv`). Also writes `program.json`, the
//! program definition edlake reads.
//!
//! Learners enrol in a few runs; about a third take the verified track; grades spread from 0 to
//! 1 so that some audit learners pass (upgrade candidates) and some verified learners complete
//! the whole program.

use std::io::Write;
use std::path::Path;

use super::{GenError, GenSummary, Rng, create};

/// The program's courses: id (org+course), title, passing grade.
pub const COURSES: [(&str, &str, f64); 5] = [
    ("DemoX+DA101x", "Foundations of Data Analysis", 0.6),
    ("DemoX+DA102x", "Statistics for Decision Making", 0.6),
    ("DemoX+DA103x", "Data Visualization", 0.55),
    ("DemoX+DA104x", "Machine Learning Fundamentals", 0.65),
    ("DemoX+DA105x", "Capstone: Applied Analytics", 0.7),
];

/// The runs of every course (edX run names).
pub const RUNS: [&str; 3] = ["1T2025", "2T2025", "3T2025"];

const FIRST: [&str; 16] = [
    "Amara", "Bilal", "Chen", "Dana", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Luca", "Maya", "Nikolai", "Olu", "Priya",
];
const LAST: [&str; 12] = [
    "Okafor", "Haddad", "Wang", "Novak", "Yilmaz", "Rahimi", "Mensah", "Tanaka", "Costa", "Berg",
    "Adeyemi", "Rossi",
];
const COUNTRIES: [&str; 8] = ["US", "IN", "NG", "BR", "DE", "CN", "MX", "EG"];
const EDUCATION: [&str; 5] = ["hs", "b", "m", "p", "other"];

fn io(path: &Path) -> impl Fn(std::io::Error) -> GenError + '_ {
    move |e| GenError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// One learner's enrolment in one course run.
struct Enrolment {
    learner: usize,
    verified: bool,
    grade: f64,
}

/// Writes the downloads for `learners` learners under `out`.
pub fn write(out: &Path, learners: usize, seed: u64) -> Result<GenSummary, GenError> {
    let mut s = GenSummary::default();
    // Each learner's ability and how far into the program they go.
    let mut rng = Rng::fork(seed, 0xED);
    let ability: Vec<f64> = (0..learners).map(|_| rng.f64()).collect();
    let reach: Vec<usize> = (0..learners)
        .map(|_| {
            if rng.f64() < 0.35 {
                5
            } else {
                rng.range(1, 4) as usize
            }
        })
        .collect();
    let verified_leaning: Vec<bool> = (0..learners).map(|_| rng.f64() < 0.4).collect();
    let start_run: Vec<usize> = (0..learners).map(|_| rng.range(0, 2) as usize).collect();
    for (c, (course, _title, _pass)) in COURSES.iter().enumerate() {
        for (r, run) in RUNS.iter().enumerate() {
            let mut enrolled = Vec::new();
            for l in 0..learners {
                // Learners take courses in order, one run each, starting in their start run;
                // a few retake a course in the next run.
                if c >= reach[l] {
                    continue;
                }
                let first = (start_run[l] + c / 2).min(RUNS.len() - 1);
                let retake = r == first + 1 && rng.f64() < 0.08;
                if r != first && !retake {
                    continue;
                }
                let verified = if verified_leaning[l] {
                    rng.f64() < 0.97
                } else {
                    rng.f64() < 0.1
                };
                let grade =
                    ((ability[l] * 0.8 + rng.f64() * 0.35 + if retake { 0.1 } else { 0.0 })
                        .clamp(0.0, 1.0)
                        * 100.0)
                        .round()
                        / 100.0;
                enrolled.push(Enrolment {
                    learner: l,
                    verified,
                    grade,
                });
            }
            let (org, code) = course.split_once('+').unwrap_or((course, course));
            let stamp = format!("2025-{:02}-15-1200", 4 + 4 * r);
            let dir = out.join(format!("{org}_{code}_{run}"));
            let grades = dir.join(format!("{org}_{code}_{run}_grade_report_{stamp}.csv"));
            write_grades(&grades, &enrolled, COURSES[c].2, &mut s)?;
            let profiles = dir.join(format!(
                "{org}_{code}_{run}_student_profile_info_{stamp}.csv"
            ));
            write_profiles(&profiles, &enrolled, &mut s)?;
            s.files += 2;
            for p in [&grades, &profiles] {
                s.bytes += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    write_program(&out.join("program.json"))?;
    s.files += 1;
    Ok(s)
}

/// A course run's grade report.
fn write_grades(
    grades: &Path,
    enrolled: &[Enrolment],
    pass: f64,
    s: &mut GenSummary,
) -> Result<(), GenError> {
    let mut w = create(grades)?;
    writeln!(w, "Student ID,Email,Username,Grade,Homework 1: Basics,Homework 2: Practice,Homework (Avg),Midterm Exam,Final Exam,Cohort Name,Enrollment Track,Verification Status,Certificate Eligible,Certificate Delivered,Certificate Type,Enrollment Status").map_err(io(grades))?;
    for e in enrolled {
        let (id, email, user, _) = learner(e.learner);
        let hw1 = (e.grade + 0.05).min(1.0);
        let eligible = e.verified && e.grade >= pass;
        writeln!(
            w,
            "{id},{email},{user},{:.2},{hw1:.2},{:.2},{:.2},{:.2},{:.2},Default Group,{},{},{},{},{},enrolled",
            e.grade,
            e.grade,
            (hw1 + e.grade) / 2.0,
            e.grade,
            e.grade,
            if e.verified { "verified" } else { "audit" },
            if e.verified { "ID Verified" } else { "N/A" },
            if eligible { "Y" } else { "N" },
            if eligible { "Y" } else { "N" },
            if eligible { "verified" } else { "N/A" },
        )
        .map_err(io(grades))?;
        s.rows += 1;
    }
    w.flush().map_err(io(grades))?;
    Ok(())
}

/// A course run's student profile download.
fn write_profiles(
    profiles: &Path,
    enrolled: &[Enrolment],
    s: &mut GenSummary,
) -> Result<(), GenError> {
    let mut w = create(profiles)?;
    writeln!(w, "id,username,name,email,language,location,year_of_birth,gender,level_of_education,mailing_address,goals,enrollment_mode,verification_status,cohort,city,country").map_err(io(profiles))?;
    for e in enrolled {
        let (id, email, user, name) = learner(e.learner);
        let l = e.learner;
        writeln!(
            w,
            "{id},{user},{name},{email},en,,{},{},{},,\"Advance my career, learn analytics\",{},{},Default Group,,{}",
            1970 + l % 35,
            ["f", "m", "o"][l % 3],
            EDUCATION[l % EDUCATION.len()],
            if e.verified { "verified" } else { "audit" },
            if e.verified { "approved" } else { "" },
            COUNTRIES[l % COUNTRIES.len()],
        )
        .map_err(io(profiles))?;
        s.rows += 1;
    }
    w.flush().map_err(io(profiles))?;
    Ok(())
}

/// The program definition (`edlake program set --file program.json`).
fn write_program(p: &Path) -> Result<(), GenError> {
    let mut w = create(p)?;
    let courses: Vec<String> = COURSES
        .iter()
        .map(|(id, title, pass)| {
            format!(
                "    {{ \"course\": \"{id}\", \"title\": \"{title}\", \"passing_grade\": {pass} }}"
            )
        })
        .collect();
    write!(
        w,
        "{{\n  \"name\": \"data_analytics\",\n  \"title\": \"Data Analytics MicroMasters\",\n  \"courses\": [\n{}\n  ]\n}}\n",
        courses.join(",\n")
    )
    .map_err(io(p))?;
    w.flush().map_err(io(p))?;
    Ok(())
}

/// A learner's edX user id, email, username and full name.
pub fn learner(l: usize) -> (u64, String, String, String) {
    let first = FIRST[l % FIRST.len()];
    let last = LAST[(l / FIRST.len() + l * 5) % LAST.len()];
    let user = format!(
        "{}{}{}",
        first.to_lowercase(),
        &last[..1].to_lowercase(),
        l + 1
    );
    (
        1_000_000 + l as u64 * 37,
        format!("{user}@learners.example"),
        user,
        format!("{first} {last}"),
    )
}
