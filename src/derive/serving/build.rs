//! Builds the serving data from the general tables (after every ingest, with stage3).
//!
//! Input tables are read one data file at a time and folded into accumulators (day sets,
//! sums), so memory stays proportional to the result and one file, not to the tens of millions
//! of rows of a district year.

use foldhash::HashMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::accum::Calendar;
use super::clever_day_sums;
use super::publish;
use super::read::{Done, Steps, add_days, days, each_file, sids, strs, student_key, sum_parts};
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

    /// `lf` (Clever rows after the identity map) with each student's `grade` (null when the
    /// SIS does not record one).
    fn with_grade(grades: &Option<DataFrame>, lf: LazyFrame, c: &str) -> LazyFrame {
        match grades {
            Some(g) => lf.with_column(student_key(c).alias("__sid")).join(
                g.clone().lazy(),
                [col("__sid")],
                [col("sid")],
                JoinArgs::new(JoinType::Left),
            ),
            None => lf.with_column(lit(NULL).cast(DataType::String).alias("grade")),
        }
    }

    /// Clever daily participation: per-school day sums, students' days and schools.
    fn clever_daily(&mut self) -> Result<(), DeriveError> {
        let (ids, cal) = (&self.ids, &self.cal);
        // Active days per (school, student) are the "students active" card, by school.
        let f = &mut self.f;
        let (daily, by_school) = (&mut f.daily, &mut f.clever_schools);
        let (clever, map, map_schools, names) =
            (&mut f.clever, &mut f.map, &mut f.map_schools, &mut f.names);
        let grades = &self.grades;
        self.has_dp = each_file(self.lake, &tables::clever_dp(), &self.done, |lf| {
            let lf = ids.apply(lf, IdSource::Clever, "sis_id_pseudonym");
            let students = col("role").eq(lit("students"));
            daily.push(
                Self::with_grade(grades, lf.clone(), "sis_id_pseudonym")
                    .filter(students.clone().or(col("role").is_null()))
                    .group_by([
                        col("date"),
                        col("school_name").alias("school"),
                        col("grade"),
                    ])
                    .agg(clever_day_sums())
                    .collect()?,
            );
            let active = lf
                .clone()
                .filter(col("active").and(students.clone()))
                .select([
                    student_key("sis_id_pseudonym"),
                    col("date").alias("day"),
                    col("school_name"),
                ])
                .collect()?;
            add_days(clever, cal, &active)?;
            let (sid, day, school) = (
                sids(&active)?,
                days(&active, "day")?,
                strs(&active, "school_name")?,
            );
            for i in 0..active.height() {
                if let (Some(sid), Some(bit)) = (sid.get(i), day.get(i).and_then(|d| cal.bit(d))) {
                    let sc = by_school.schools.id(school.get(i));
                    by_school.add(0, sc, sid, bit);
                }
            }
            let pairs = lf
                .clone()
                .filter(students)
                .select([student_key("sis_id_pseudonym"), col("school_name")])
                .unique(None, UniqueKeepStrategy::Any)
                .collect()?;
            for (sid, school) in sids(&pairs)?
                .iter()
                .zip(strs(&pairs, "school_name")?.iter())
            {
                if let Some(sid) = sid {
                    map.insert((sid, map_schools.id(school)));
                }
            }
            let ids = lf
                .select([col("clever_school_id"), col("school_name")])
                .filter(col("school_name").is_not_null())
                .unique_stable(Some(cols(["clever_school_id"])), UniqueKeepStrategy::First)
                .collect()?;
            let id_col = strs(&ids, "clever_school_id")?;
            for (id, name) in id_col.iter().zip(strs(&ids, "school_name")?.iter()) {
                if let (Some(id), Some(name)) = (id, name) {
                    names.entry(id.into()).or_insert_with(|| name.into());
                }
            }
            Ok(())
        })?;
        if self.has_dp {
            let sums = ["students", "active_students", "logins", "resources"];
            let by_grade = sum_parts(
                std::mem::take(&mut self.f.daily),
                &["date", "school", "grade"],
                &sums,
            )?;
            self.f.daily = vec![by_grade.clone()];
            let df = sum_parts(vec![by_grade.clone()], &["date", "school"], &sums)?;
            self.parts.push(("clever_daily", df));
            self.parts.push(("clever_daily_grade", by_grade));
            self.parts
                .push(("clever_active", self.f.clever_schools.frame("days", true)?));
            self.steps.mark("Clever daily participation");
        }
        Ok(())
    }

    /// Clever resource usage: accesses, and students' days per resource and resource type.
    fn clever_resources(&mut self) -> Result<(), DeriveError> {
        let (cal, ids, grades) = (&self.cal, &self.ids, &self.grades);
        let f = &mut self.f;
        let (accesses, by_name, by_type, source_grades) = (
            &mut f.accesses,
            &mut f.by_name,
            &mut f.by_type,
            &mut f.source_grades,
        );
        let has_ru = each_file(self.lake, &tables::clever_ru(), &self.done, |lf| {
            let lf = lf.filter(col("role").eq(lit("students")).or(col("role").is_null()));
            // The grade through the identity map (the day sets below keep the source's ids,
            // as the direct queries count them).
            let mapped = ids.apply(
                lf.clone()
                    .with_column(col("sis_id_pseudonym").alias("__student")),
                IdSource::Clever,
                "__student",
            );
            let graded = Self::with_grade(grades, mapped, "__student");
            if grades.is_some() {
                // The grade of each student as the resource day sets number them (the source's
                // ids), for the grade filter on those sets.
                let pairs = graded
                    .clone()
                    .select([student_key("sis_id_pseudonym"), col("grade")])
                    .unique(None, UniqueKeepStrategy::Any)
                    .collect()?;
                for (sid, g) in sids(&pairs)?.iter().zip(strs(&pairs, "grade")?.iter()) {
                    if let (Some(sid), Some(g)) = (sid, g) {
                        source_grades.insert(sid, g.to_string());
                    }
                }
            }
            accesses.push(
                graded
                    .group_by([
                        col("date"),
                        col("school_name").alias("school"),
                        col("resource_name"),
                        col("resource_type"),
                        col("grade"),
                    ])
                    .agg([col("num_access")
                        .sum()
                        .cast(DataType::Int64)
                        .alias("accesses")])
                    .collect()?,
            );
            let df = lf
                .select([
                    col("resource_name"),
                    col("resource_type"),
                    col("school_name"),
                    student_key("sis_id_pseudonym"),
                    col("date").alias("day"),
                ])
                .collect()?;
            let (n, t, s) = (
                strs(&df, "resource_name")?,
                strs(&df, "resource_type")?,
                strs(&df, "school_name")?,
            );
            let (sid, day) = (sids(&df)?, days(&df, "day")?);
            for i in 0..df.height() {
                let (Some(sid), Some(bit)) = (sid.get(i), day.get(i).and_then(|d| cal.bit(d)))
                else {
                    continue;
                };
                let (k, sc) = (by_name.keys.id(n.get(i)), by_name.schools.id(s.get(i)));
                by_name.add(k, sc, sid, bit);
                let (k, sc) = (by_type.keys.id(t.get(i)), by_type.schools.id(s.get(i)));
                by_type.add(k, sc, sid, bit);
            }
            Ok(())
        })?;
        if has_ru {
            let by = ["date", "school", "resource_name", "resource_type"];
            let by_grade = sum_parts(
                std::mem::take(&mut self.f.accesses),
                &[&by[..], &["grade"]].concat(),
                &["accesses"],
            )?;
            self.f.accesses = vec![by_grade.clone()];
            self.parts.push((
                "resource_accesses",
                sum_parts(vec![by_grade.clone()], &by, &["accesses"])?,
            ));
            self.parts.push(("resource_accesses_grade", by_grade));
            if self.grades.is_some() {
                let mut pairs: Vec<(u64, &str)> = (self.f.source_grades.iter())
                    .map(|(s, g)| (*s, g.as_str()))
                    .collect();
                // In student order: a build from the last one's state writes the same part.
                pairs.sort_unstable();
                let (sid, grade): (Vec<u64>, Vec<&str>) = pairs.into_iter().unzip();
                let df = DataFrame::new(
                    sid.len(),
                    vec![
                        Column::new("sid".into(), sid),
                        Column::new("grade".into(), grade),
                    ],
                )?;
                self.parts.push(("resource_grades", df));
            }
            self.parts
                .push(("resource_names", self.f.by_name.frame("days", true)?));
            self.parts
                .push(("resource_types", self.f.by_type.frame("days", true)?));
            self.steps.mark("Clever resource usage");
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
        self.has_att = each_file(self.lake, &tables::attendance(), &self.done, |lf| {
            let df = ids
                .apply(lf, IdSource::Sis, "student_id_pseudonym")
                .select([
                    student_key("student_id_pseudonym"),
                    col("student_id_pseudonym").alias("student"),
                    col("attendance_date").cast(DataType::Date).alias("day"),
                    present_expr.clone().alias("present"),
                    col("school_id").cast(DataType::String),
                ])
                .filter(col("student").is_not_null())
                .collect()?;
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
        })?;
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
