//! A MicroMasters program's definition (courses, passing grades, how many are required), kept
//! in the lake and edited in the app, and the first draft made from the lake's grade reports.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::{DeriveError, table, text_values};
use crate::lake::{Lake, LakeError, Layer, TableRef};
use crate::modules::edx::{SOURCE, VERSION};

/// One course of a program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramCourse {
    /// edX course id without the run (`DemoX+DA101x`).
    pub course: String,
    pub title: String,
    /// Lowest grade (0–1) that passes.
    pub passing_grade: f64,
}

/// A MicroMasters program (saved in the lake).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramDef {
    pub name: String,
    pub title: String,
    pub courses: Vec<ProgramCourse>,
    /// Certificate-eligible courses needed to complete (default: all of them).
    #[serde(default)]
    pub required: Option<usize>,
}

impl ProgramDef {
    fn path(lake: &Lake) -> std::path::PathBuf {
        lake.meta_dir().join("programs").join("micromasters.json")
    }

    /// Courses needed to complete.
    pub fn needed(&self) -> usize {
        self.required
            .unwrap_or(self.courses.len())
            .min(self.courses.len())
    }

    /// Checks the definition; the message says what to fix.
    pub fn check(&self) -> Result<(), DeriveError> {
        let bad = |m: String| Err(DeriveError::Invalid(m));
        if self.courses.is_empty() {
            return bad("the program has no courses".into());
        }
        let mut seen = BTreeSet::new();
        for c in &self.courses {
            if c.course.trim().is_empty() {
                return bad("a course has no course id (such as DemoX+DA101x)".into());
            }
            if !seen.insert(c.course.trim()) {
                return bad(format!("{} is listed twice", c.course));
            }
            if !(0.0..=1.0).contains(&c.passing_grade) {
                return bad(format!(
                    "{}: the passing grade must be between 0 and 1 (edX grades are fractions)",
                    c.course
                ));
            }
        }
        if self.required == Some(0) {
            return bad("the program must require at least one course".into());
        }
        Ok(())
    }

    /// The saved program, if any.
    pub fn load(lake: &Lake) -> Result<Option<ProgramDef>, LakeError> {
        crate::lake::jsonfile::read(&Self::path(lake))
    }

    /// Saves the program.
    pub fn save(&self, lake: &Lake) -> Result<(), LakeError> {
        let _lock = lake.lock("save the MicroMasters program")?;
        crate::lake::jsonfile::write(&Self::path(lake), self)
    }
}

/// The raw grade report (Ingested).
pub(super) fn ingested(name: &str) -> TableRef {
    TableRef::new(Layer::Ingested, SOURCE, VERSION, name)
}

/// A program built from the courses found in the lake's grade reports (passing grade 0.6),
/// as a starting point for the editor.
pub fn program_from_data(lake: &Lake) -> Result<ProgramDef, DeriveError> {
    let mut courses = BTreeSet::new();
    if let Some(g) = table(lake, &ingested("grade_report"))? {
        let df = g
            .select([col("course_run")])
            .unique(None, UniqueKeepStrategy::Any)
            .collect()?;
        for r in text_values(&df, "course_run")?.into_iter().flatten() {
            courses.insert(r.rsplit_once('+').map(|(c, _)| c.to_string()).unwrap_or(r));
        }
    }
    Ok(ProgramDef {
        name: "program".into(),
        title: "MicroMasters program".into(),
        courses: courses
            .into_iter()
            .map(|c| ProgramCourse {
                title: c.clone(),
                course: c,
                passing_grade: 0.6,
            })
            .collect(),
        required: None,
    })
}

/// Names, emails and countries from the profile downloads (the latest run's values), by
/// learner id: name, email, username, country, level of education.
pub(super) fn read_profiles(
    lake: &Lake,
) -> Result<BTreeMap<String, [Option<String>; 5]>, DeriveError> {
    let mut profile: BTreeMap<String, [Option<String>; 5]> = BTreeMap::new();
    if let Some(p) = table(lake, &ingested("profile_info"))? {
        let df = p
            .select([
                col("id").cast(DataType::String),
                col("name"),
                col("email"),
                col("username"),
                col("country"),
                col("level_of_education"),
                col("course_run"),
            ])
            .sort(["course_run"], Default::default())
            .collect()?;
        let cols: Vec<Vec<Option<String>>> = [
            "id",
            "name",
            "email",
            "username",
            "country",
            "level_of_education",
        ]
        .iter()
        .map(|c| text_values(&df, c))
        .collect::<PolarsResult<_>>()?;
        for (i, id) in cols[0].iter().enumerate() {
            if let Some(id) = id {
                profile.insert(id.clone(), [1, 2, 3, 4, 5].map(|c| cols[c][i].clone()));
            }
        }
    }
    Ok(profile)
}
