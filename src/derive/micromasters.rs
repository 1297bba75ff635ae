//! MicroMasters program reports from edX course downloads: learners, per-course-run
//! enrolment details, program completion, and two outreach lists.
//!
//! Definitions (also shown in the app):
//! - a learner *passed* a course when a run's grade is at least the course's passing grade in
//!   the program definition;
//! - a course is *certificate-eligible* for a learner when they passed it in the verified track
//!   (edX issues certificates to verified learners only);
//! - a learner *completed the program* with as many certificate-eligible courses as the program
//!   requires (all of its courses unless the definition says fewer).
//! - upgrade candidates: audit-track enrolments at or above the passing grade;
//! - next-course candidates: learners who passed at least one course but have not completed.
//!
//! General tables hold learners by pseudonym (emails and usernames hashed, names left out);
//! the outreach lists, which need names and emails, are written to the sensitive side only.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde::Serialize;

pub use super::program::{ProgramCourse, ProgramDef, program_from_data};
use super::program::{ingested, read_profiles};
use super::text_values;
use super::{DeriveError, table};
use crate::lake::{Lake, Layer, TableRef};
use crate::modules::edx::VERSION;
use crate::pseudo::{Salt, hash_value};

/// A report table (`general` or `sensitive`).
pub fn report_table(layer: Layer, name: &str) -> TableRef {
    TableRef::new(layer, "edx_program", VERSION, name)
}

/// What a build produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProgramReport {
    pub learners: usize,
    pub enrolments: usize,
    pub passed_any: usize,
    pub completed: usize,
    pub upgrade_candidates: usize,
    pub next_course_candidates: usize,
    /// Course runs in the data whose course is not in the program (left out).
    pub other_courses: Vec<String>,
}

/// One enrolment as read from the downloads.
#[derive(Debug, Clone)]
struct Row {
    learner: String,
    course: String,
    run: String,
    track: String,
    grade: Option<f64>,
}

/// A learner's courses passed, certificate-eligible and enrolled, and course runs.
type Totals<'a> = (
    BTreeSet<&'a str>,
    BTreeSet<&'a str>,
    BTreeSet<&'a str>,
    usize,
);

/// Builds every report table from the Ingested edX tables; `None` when there is no grade report
/// yet.
pub fn build(
    lake: &Lake,
    program: &ProgramDef,
    salt: &Salt,
) -> Result<Option<ProgramReport>, DeriveError> {
    let _lock = lake.lock("build the MicroMasters reports")?;
    let Some((rows, other)) = read_rows(lake, program)? else {
        return Ok(None);
    };
    let profile = read_profiles(lake)?;
    let r = Reports::new(program, &rows, &profile, salt);
    let (up, nx) = (r.upgrade()?, r.next_course()?);
    let report = ProgramReport {
        learners: r.ids.len(),
        enrolments: rows.len(),
        passed_any: r
            .ids
            .iter()
            .filter(|l| !r.by_learner[*l].0.is_empty())
            .count(),
        completed: r.ids.iter().filter(|l| r.completed(l)).count(),
        upgrade_candidates: up.height(),
        next_course_candidates: nx.height(),
        other_courses: other.into_iter().collect(),
    };
    let replace = super::stage3::replace;
    replace(
        lake,
        &report_table(Layer::General, "learners"),
        r.learners()?,
    )?;
    replace(
        lake,
        &report_table(Layer::General, "enrolments"),
        r.enrolments()?,
    )?;
    replace(
        lake,
        &report_table(Layer::General, "completion"),
        r.completion()?,
    )?;
    replace(
        lake,
        &report_table(Layer::Sensitive, "upgrade_candidates"),
        up,
    )?;
    replace(
        lake,
        &report_table(Layer::Sensitive, "next_course_candidates"),
        nx,
    )?;
    Ok(Some(report))
}

/// Enrolments in the program's courses, and the course runs of other courses.
type Enrolments = (Vec<Row>, BTreeSet<String>);

/// The grade report's enrolments in the program's courses, and the course runs of other
/// courses (left out); `None` when there is no grade report yet.
fn read_rows(lake: &Lake, program: &ProgramDef) -> Result<Option<Enrolments>, DeriveError> {
    let Some(grades) = table(lake, &ingested("grade_report"))? else {
        return Ok(None);
    };
    let g = grades
        .select([
            col("course_run"),
            col("Student_ID").cast(DataType::String).alias("learner"),
            col("Enrollment_Track").alias("track"),
            col("Grade").cast(DataType::Float64).alias("grade"),
        ])
        .collect()?;
    let (runs, learners, tracks) = (
        text_values(&g, "course_run")?,
        text_values(&g, "learner")?,
        text_values(&g, "track")?,
    );
    let grade: Vec<Option<f64>> = g.column("grade")?.f64()?.iter().collect();
    let courses: BTreeSet<&str> = program.courses.iter().map(|c| c.course.trim()).collect();
    let mut rows = Vec::new();
    let mut other = BTreeSet::new();
    for i in 0..g.height() {
        let (Some(run), Some(learner)) = (&runs[i], &learners[i]) else {
            continue;
        };
        let (course, run_name) = run.rsplit_once('+').unwrap_or((run, ""));
        if !courses.contains(course) {
            other.insert(run.clone());
            continue;
        }
        rows.push(Row {
            learner: learner.clone(),
            course: course.into(),
            run: run_name.into(),
            track: tracks[i].clone().unwrap_or_default().to_ascii_lowercase(),
            grade: grade[i],
        });
    }
    Ok(Some((rows, other)))
}

/// The reports' inputs and what each learner did.
struct Reports<'a> {
    program: &'a ProgramDef,
    rows: &'a [Row],
    profile: &'a BTreeMap<String, [Option<String>; 5]>,
    courses: BTreeMap<&'a str, &'a ProgramCourse>,
    /// Per learner: courses passed, certificate-eligible courses, courses enrolled, runs.
    by_learner: BTreeMap<&'a str, Totals<'a>>,
    /// Learners by id, in order.
    ids: Vec<&'a str>,
    needed: usize,
    salt: &'a Salt,
}

impl<'a> Reports<'a> {
    fn new(
        program: &'a ProgramDef,
        rows: &'a [Row],
        profile: &'a BTreeMap<String, [Option<String>; 5]>,
        salt: &'a Salt,
    ) -> Self {
        let courses: BTreeMap<&str, &ProgramCourse> = program
            .courses
            .iter()
            .map(|c| (c.course.trim(), c))
            .collect();
        let mut r = Reports {
            program,
            rows,
            profile,
            courses,
            by_learner: BTreeMap::new(),
            ids: Vec::new(),
            needed: program.needed(),
            salt,
        };
        let mut by_learner: BTreeMap<&str, Totals> = BTreeMap::new();
        for row in rows {
            let e = by_learner.entry(&row.learner).or_default();
            e.3 += 1;
            e.2.insert(&row.course);
            if r.passing(row) {
                e.0.insert(&row.course);
                if row.track == "verified" {
                    e.1.insert(&row.course);
                }
            }
        }
        r.ids = by_learner.keys().copied().collect();
        r.by_learner = by_learner;
        r
    }

    fn passing(&self, r: &Row) -> bool {
        r.grade
            .is_some_and(|g| g + 1e-9 >= self.courses[r.course.as_str()].passing_grade)
    }

    fn pseud(&self, v: &str) -> String {
        hash_value(v, self.salt)
    }

    fn profile_of(&self, l: &str, k: usize) -> Option<String> {
        self.profile.get(l).and_then(|p| p[k].clone())
    }

    fn completed(&self, l: &str) -> bool {
        self.by_learner[l].1.len() >= self.needed
    }

    fn remaining(&self, l: &str) -> String {
        self.program
            .courses
            .iter()
            .filter(|c| !self.by_learner[l].1.contains(c.course.trim()))
            .map(|c| c.title.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// General: enrolments.
    fn enrolments(&self) -> PolarsResult<DataFrame> {
        let rows = self.rows;
        DataFrame::new(
            rows.len(),
            vec![
                column("learner", rows, |r| self.pseud(&r.learner)),
                column("course", rows, |r| r.course.as_str()),
                column("run", rows, |r| r.run.as_str()),
                column("track", rows, |r| r.track.as_str()),
                column("grade", rows, |r| r.grade),
                column("passed", rows, |r| self.passing(r)),
                column("certificate_eligible", rows, |r| {
                    self.passing(r) && r.track == "verified"
                }),
            ],
        )
    }

    /// General: learners.
    fn learners(&self) -> PolarsResult<DataFrame> {
        let ids = &self.ids;
        DataFrame::new(
            ids.len(),
            vec![
                column("learner", ids, |l| self.pseud(l)),
                column("email_hash", ids, |l| {
                    self.profile_of(l, 1).map(|e| self.pseud(&e.to_lowercase()))
                }),
                column("username_hash", ids, |l| {
                    self.profile_of(l, 2).map(|u| self.pseud(&u))
                }),
                column("country", ids, |l| self.profile_of(l, 3)),
                column("level_of_education", ids, |l| self.profile_of(l, 4)),
                column("course_runs", ids, |l| self.by_learner[l].3 as u32),
            ],
        )
    }

    /// General: program completion.
    fn completion(&self) -> PolarsResult<DataFrame> {
        let ids = &self.ids;
        DataFrame::new(
            ids.len(),
            vec![
                column("learner", ids, |l| self.pseud(l)),
                column("courses_enrolled", ids, |l| {
                    self.by_learner[l].2.len() as u32
                }),
                column("courses_passed", ids, |l| self.by_learner[l].0.len() as u32),
                column("certificate_eligible_courses", ids, |l| {
                    self.by_learner[l].1.len() as u32
                }),
                column("completed_program", ids, |l| self.completed(l)),
            ],
        )
    }

    /// Sensitive: upgrade candidates (audit at or above the passing line), newest run first.
    fn upgrade(&self) -> PolarsResult<DataFrame> {
        let mut up: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.track == "audit" && self.passing(r))
            .collect();
        up.sort_by(|a, b| (&a.course, &b.run, &a.learner).cmp(&(&b.course, &a.run, &b.learner)));
        let course = |r: &Row| self.courses[r.course.as_str()];
        DataFrame::new(
            up.len(),
            vec![
                column("learner_id", &up, |r| r.learner.as_str()),
                column("name", &up, |r| self.profile_of(&r.learner, 0)),
                column("email", &up, |r| self.profile_of(&r.learner, 1)),
                column("course", &up, |r| r.course.as_str()),
                column("course_title", &up, |r| course(r).title.as_str()),
                column("run", &up, |r| r.run.as_str()),
                column("grade", &up, |r| r.grade),
                column("passing_grade", &up, |r| course(r).passing_grade),
            ],
        )
    }

    /// Sensitive: next-course candidates.
    fn next_course(&self) -> PolarsResult<DataFrame> {
        let next: Vec<&str> = self
            .ids
            .iter()
            .copied()
            .filter(|l| !self.by_learner[l].0.is_empty() && !self.completed(l))
            .collect();
        DataFrame::new(
            next.len(),
            vec![
                column("learner_id", &next, |l| *l),
                column("name", &next, |l| self.profile_of(l, 0)),
                column("email", &next, |l| self.profile_of(l, 1)),
                column("courses_passed", &next, |l| {
                    self.by_learner[l].0.len() as u32
                }),
                column("certificate_eligible_courses", &next, |l| {
                    self.by_learner[l].1.len() as u32
                }),
                column("courses_to_go", &next, |l| self.remaining(l)),
            ],
        )
    }
}

/// A column of `f` over `items`.
fn column<'a, I, T, P: ?Sized>(name: &str, items: &'a [I], f: impl Fn(&'a I) -> T) -> Column
where
    Series: NamedFrom<Vec<T>, P>,
{
    Column::new(name.into(), items.iter().map(f).collect::<Vec<_>>())
}

/// The two outreach lists (sensitive tables), for the export step.
pub const OUTREACH: [(&str, &str); 2] = [
    (
        "upgrade_candidates",
        "Audit-track learners at or above the passing grade (candidates to upgrade to verified)",
    ),
    (
        "next_course_candidates",
        "Learners who passed a course but have not completed the program (candidates for the next course)",
    ),
];
