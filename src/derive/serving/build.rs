//! Builds the serving data from the general tables (after every ingest, with stage3).
//!
//! Input tables are read one data file at a time and folded into accumulators (day sets,
//! sums), so memory stays proportional to the result and one file, not to the tens of millions
//! of rows of a district year.

use foldhash::HashMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::accum::Calendar;
use super::publish;
use super::read::{Done, Steps, days, each_file, sids, strs, student_key};
use super::resume::{self, Start};
use super::state::Folds;
use crate::derive::identity::{IdSource, Resolver};
use crate::derive::{DeriveError, table, tables};
use crate::lake::Lake;

/// What a build wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ServingReport {
    pub parts: usize,
    pub bytes: u64,
    pub calendar_days: usize,
    /// Whether only the input files new since the last build were read (else all of them).
    pub incremental: bool,
    /// Seconds and peak memory (MB, where the OS reports it) after each part, in order.
    pub steps: Vec<(String, f64, Option<u64>)>,
}

/// Brings the serving data of the lake up to date.
pub fn build(lake: &Lake) -> Result<ServingReport, DeriveError> {
    Ok(build_with_students(lake, &crate::derive::hybrid_table())?.0)
}

/// [`build`], also giving each hybrid row's student number (`sid`) with the student's
/// pseudonym (`student`), in memory only: the files on disk hold no pseudonym, and the stage3
/// hybrid table (`served`, which names the students served before) gets its student column
/// from this.
pub(crate) fn build_with_students(
    lake: &Lake,
    served: &crate::lake::TableRef,
) -> Result<(ServingReport, Option<DataFrame>), DeriveError> {
    let _lock = lake.lock("build the chart serving data")?;
    // After an append (a new school day), fold only the new files into the last build's
    // accumulators; anything else (a delete, an upsert, another identity map) starts afresh.
    if let Some(start) = resume::from_last_build(lake, served)?
        && let Some(out) = run(lake, start)?
    {
        return Ok(out);
    }
    run(lake, resume::fresh(lake)?)?.ok_or_else(|| {
        DeriveError::Invalid("the chart serving data could not be built from the tables".into())
    })
}

/// One build from `start`; `None` when an incremental start turns out not to hold (the new
/// files changed what older ones contributed).
fn run(
    lake: &Lake,
    start: Start,
) -> Result<Option<(ServingReport, Option<DataFrame>)>, DeriveError> {
    let Start {
        cal,
        folds,
        done,
        read,
        pseudonyms,
        incremental,
        mut steps,
    } = start;
    let mut b = Builder::new(lake, cal, folds, done, pseudonyms, steps.take())?;
    b.grades()?;
    b.clever_daily()?;
    b.clever_resources()?;
    b.attendance()?;
    b.student_schools()?;
    // Insights rows were counted per school of their student: a student seen at a new school
    // changes the counts of files read before.
    if incremental && b.had_insights && b.f.map.len() != b.map_at_start {
        return Ok(None);
    }
    b.insights_activity()?;
    // Pseudonyms of students read before come from the stage3 hybrid table, which a crash may
    // have left behind its build.
    if incremental && (b.f.enrolled.entries()).any(|e| !b.pseudonyms.contains_key(&e.2)) {
        return Ok(None);
    }
    let student_ids = b.hybrid()?;
    let Builder {
        cal,
        parts,
        mut steps,
        f,
        ..
    } = b;
    let calendar: Vec<NaiveDate> = cal
        .days
        .iter()
        .filter_map(|d| NaiveDate::from_num_days_from_ce_opt(d + 719_163))
        .collect();
    let n = parts.len();
    let bytes = publish(lake, calendar.clone(), parts, &f, read)?;
    steps.mark("written");
    let report = ServingReport {
        parts: n,
        bytes,
        calendar_days: calendar.len(),
        incremental,
        steps: steps.done,
    };
    Ok(Some((report, student_ids)))
}

/// One build's state: the calendar, the identity map, school names, each source's day sets
/// (which the hybrid part combines) and the parts written so far.
pub(super) struct Builder<'a> {
    pub(super) lake: &'a Lake,
    pub(super) cal: Calendar,
    pub(super) words: usize,
    /// Sources are read through the identity map, so one student is one key across sources.
    pub(super) ids: Resolver,
    /// The accumulators (loaded from the last build when only new files are read).
    pub(super) f: Folds,
    /// Each table's data files already folded into `f`.
    pub(super) done: Done,
    pub(super) parts: Vec<(&'static str, DataFrame)>,
    pub(super) steps: Steps,
    /// Attending students' pseudonyms, in memory only (for the stage3 hybrid table).
    pub(super) pseudonyms: HashMap<u64, String>,
    /// Students' schools and whether Insights rows were counted, as the build started.
    pub(super) map_at_start: usize,
    pub(super) had_insights: bool,
    pub(super) has_dp: bool,
    pub(super) has_att: bool,
    pub(super) has_act: bool,
    /// Which attendance rows count as present.
    pub(super) present_codes: crate::derive::attendance::PresentCodes,
    /// Each SIS student's grade (`sid`, `grade`), when the lake has the students table: the
    /// Clever sums are kept per grade too, for the grade filter.
    pub(super) grades: Option<DataFrame>,
}

impl<'a> Builder<'a> {
    fn new(
        lake: &'a Lake,
        cal: Calendar,
        f: Folds,
        done: Done,
        pseudonyms: HashMap<u64, String>,
        steps: Steps,
    ) -> Result<Self, DeriveError> {
        Ok(Builder {
            lake,
            words: cal.words(),
            ids: Resolver::load(lake)?,
            map_at_start: f.map.len(),
            had_insights: !f.counts.is_empty() || f.insights.entries().next().is_some(),
            f,
            done,
            parts: Vec::new(),
            steps,
            pseudonyms,
            has_dp: false,
            has_att: false,
            has_act: false,
            present_codes: crate::derive::attendance::PresentCodes::load(lake)?,
            grades: None,
            cal,
        })
    }

    /// A school id as its name (the id itself when no source names it).
    pub(super) fn school_of(&self, id: &Option<String>) -> Option<String> {
        id.as_ref()
            .map(|id| self.f.names.get(id).cloned().unwrap_or_else(|| id.clone()))
    }

    /// The SIS students' grades (the last row of a student wins, as in the direct queries),
    /// also written as the `student_grades` part.
    fn grades(&mut self) -> Result<(), DeriveError> {
        if let Some(st) = table(self.lake, &tables::students())? {
            let df = self
                .ids
                .apply(st, IdSource::Sis, "SIS_ID_pseudonym")
                .select([
                    student_key("SIS_ID_pseudonym"),
                    col("Grade").cast(DataType::String).alias("grade"),
                ])
                .unique_stable(Some(cols(["sid"])), UniqueKeepStrategy::Last)
                .collect()?;
            self.parts.push(("student_grades", df.clone()));
            self.grades = Some(df);
        }
        Ok(())
    }

    /// SIS attendance: the hybrid day sets, each student's first school and pseudonym.
    fn attendance(&mut self) -> Result<(), DeriveError> {
        let (ids, cal) = (&self.ids, &self.cal);
        let present_expr = self.present_codes.present();
        let (enrolled, present, first_school, pseudonyms) = (
            &mut self.f.enrolled,
            &mut self.f.present,
            &mut self.f.first_school,
            &mut self.pseudonyms,
        );
        let read = |lf: LazyFrame| -> Result<DataFrame, DeriveError> {
            Ok(ids
                .apply(lf, IdSource::Sis, "student_id_pseudonym")
                .select([
                    student_key("student_id_pseudonym"),
                    col("student_id_pseudonym").alias("student"),
                    col("attendance_date").cast(DataType::Date).alias("day"),
                    present_expr.clone().alias("present"),
                    col("school_id").cast(DataType::String),
                ])
                .filter(col("student").is_not_null())
                .collect()?)
        };
        let fold = |df: DataFrame| -> Result<(), DeriveError> {
            let (sid, day) = (sids(&df)?, days(&df, "day")?);
            let (student, school) = (strs(&df, "student")?, strs(&df, "school_id")?);
            let flag = df.column("present")?.bool()?.clone();
            for i in 0..df.height() {
                let Some(sid) = sid.get(i) else { continue };
                first_school
                    .entry(sid)
                    .or_insert_with(|| school.get(i).map(str::to_string));
                if let Some(p) = student.get(i) {
                    pseudonyms.entry(sid).or_insert_with(|| p.to_string());
                }
                if let Some(bit) = day.get(i).and_then(|d| cal.bit(d)) {
                    enrolled.add(0, 0, sid, bit);
                    if flag.get(i) == Some(true) {
                        present.add(0, 0, sid, bit);
                    }
                }
            }
            Ok(())
        };
        self.has_att = each_file(self.lake, &tables::attendance(), &self.done, read, fold)?;
        Ok(())
    }

    /// Student → school for Insights: from Clever, else from attendance (as the direct queries).
    fn student_schools(&mut self) -> Result<(), DeriveError> {
        if !self.has_dp && self.has_att {
            for (sid, id) in &self.f.first_school {
                let s = self.school_of(id);
                self.f
                    .map
                    .insert((*sid, self.f.map_schools.id(s.as_deref())));
            }
        }
        if self.has_dp || self.has_att {
            let mut rows: Vec<(u64, u32)> = self.f.map.iter().copied().collect();
            rows.sort_unstable();
            let df = DataFrame::new(
                rows.len(),
                vec![
                    Column::new("sid".into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()),
                    Column::new(
                        "school".into(),
                        rows.iter()
                            .map(|r| self.f.map_schools.get(r.1))
                            .collect::<Vec<_>>(),
                    ),
                ],
            )?;
            self.parts.push(("student_schools", df));
        }
        Ok(())
    }
}
