//! Class (section) names for Insights activity.
//!
//! An Insights event names its class twice: `ClassId`, the Microsoft 365 group of the class
//! (whose roster row, AadGroup, OEA pseudonymizes, so it cannot be matched without the salt),
//! and `SisClassId`, the SIS id of the section for districts running School Data Sync, which is
//! the roster's `Section.ExternalId`. Charts show the section's name; sections of the same name
//! (every school has a "Biology") get their school's name added, and if that is not enough their
//! code. A class the roster does not name shows as "class" and the start of its group id (a
//! group id, never a student's).

use std::collections::HashMap;

use polars::prelude::*;

use super::{DeriveError, table, tables, text_values};
use crate::lake::Lake;

/// The label of each section of the Insights roster, by its SIS id and by its roster id.
#[derive(Debug, Clone, Default)]
pub struct ClassNames {
    by_id: HashMap<String, String>,
}

/// One roster section before its label is chosen.
struct Section {
    ids: Vec<String>,
    name: String,
    school: Option<String>,
    code: Option<String>,
}

impl ClassNames {
    /// The labels of the lake's Section table (none when the lake has no Insights roster).
    pub fn load(lake: &Lake) -> Result<Self, DeriveError> {
        let Some(sections) = table(lake, &tables::section())? else {
            return Ok(Self::default());
        };
        let df = sections
            .select([
                col("Id"),
                col("ExternalId"),
                col("Name"),
                col("OrganizationId"),
                col("Code"),
            ])
            .collect()?;
        let schools = school_names(lake)?;
        let (id, ext) = (text_values(&df, "Id")?, text_values(&df, "ExternalId")?);
        let (name, org) = (
            text_values(&df, "Name")?,
            text_values(&df, "OrganizationId")?,
        );
        let code = text_values(&df, "Code")?;
        let mut rows = Vec::new();
        for i in 0..df.height() {
            let ids: Vec<String> = [&id[i], &ext[i]].into_iter().flatten().cloned().collect();
            let Some(first) = ids.first() else { continue };
            rows.push(Section {
                name: name[i]
                    .clone()
                    .unwrap_or_else(|| format!("section {first}")),
                school: org[i]
                    .as_ref()
                    .map(|o| schools.get(o).cloned().unwrap_or_else(|| o.clone())),
                code: code[i].clone(),
                ids,
            });
        }
        Ok(Self::from_sections(rows))
    }

    /// Labels: the name, then `· school` where names repeat, then `(code)` where that repeats.
    fn from_sections(rows: Vec<Section>) -> Self {
        let count = |labels: &[String]| -> HashMap<String, usize> {
            let mut n = HashMap::new();
            for l in labels {
                *n.entry(l.clone()).or_default() += 1;
            }
            n
        };
        let mut labels: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        let n = count(&labels);
        for (l, r) in labels.iter_mut().zip(&rows) {
            if n[l.as_str()] > 1
                && let Some(s) = &r.school
            {
                *l = format!("{l} · {s}");
            }
        }
        let n = count(&labels);
        for (l, r) in labels.iter_mut().zip(&rows) {
            if n[l.as_str()] > 1 {
                let code = r.code.as_deref().unwrap_or(&r.ids[0]);
                *l = format!("{l} ({code})");
            }
        }
        let mut by_id = HashMap::new();
        for (l, r) in labels.into_iter().zip(rows) {
            for id in r.ids {
                by_id.entry(id).or_insert_with(|| l.clone());
            }
        }
        ClassNames { by_id }
    }

    /// The label of an event's class: its section's when `SisClassId` names a roster section,
    /// else "class" and the start of its group id; `None` for an event of no class.
    pub fn label(&self, class_id: Option<&str>, sis_class_id: Option<&str>) -> Option<String> {
        if let Some(l) = sis_class_id.and_then(|s| self.by_id.get(s)) {
            return Some(l.clone());
        }
        let id = class_id.filter(|c| !c.is_empty())?;
        let short: String = id.chars().take(8).collect();
        Some(format!("class {short}"))
    }

    /// (`ClassId`, `SisClassId`, `class` label) for the distinct pairs of `activity` (with
    /// those two columns), to join onto the events.
    pub fn frame(&self, activity: LazyFrame) -> Result<DataFrame, DeriveError> {
        let pairs = activity
            .select([
                col("ClassId").cast(DataType::String),
                col("SisClassId").cast(DataType::String),
            ])
            .unique(None, UniqueKeepStrategy::Any)
            .collect()?;
        let (c, s) = (
            text_values(&pairs, "ClassId")?,
            text_values(&pairs, "SisClassId")?,
        );
        let labels: Vec<Option<String>> = c
            .iter()
            .zip(&s)
            .map(|(c, s)| self.label(c.as_deref(), s.as_deref()))
            .collect();
        Ok(df!(
            "ClassId" => c,
            "SisClassId" => s,
            "class" => labels,
        )?)
    }
}

/// Insights Organization names by id (after the district's school mapping).
fn school_names(lake: &Lake) -> Result<HashMap<String, String>, DeriveError> {
    let Some(o) = table(lake, &tables::organization())? else {
        return Ok(HashMap::new());
    };
    let df = o.select([col("Id"), col("Name")]).collect()?;
    Ok(text_values(&df, "Id")?
        .into_iter()
        .zip(text_values(&df, "Name")?)
        .filter_map(|(i, n)| Some((i?, n?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(id: &str, name: &str, school: &str, code: &str) -> Section {
        Section {
            ids: vec![format!("R{id}"), id.to_string()],
            name: name.into(),
            school: Some(school.into()),
            code: Some(code.into()),
        }
    }

    #[test]
    fn repeated_names_take_the_school_then_the_code() {
        let names = ClassNames::from_sections(vec![
            section("s1", "Biology", "Mitchell High", "100"),
            section("s2", "Biology", "Hampton High", "200"),
            section("s3", "Health", "Mitchell High", "300"),
            section("s4", "Pottery", "Mitchell High", "400"),
            section("s5", "Pottery", "Mitchell High", "500"),
        ]);
        let l = |s: &str| names.label(Some("g"), Some(s)).unwrap();
        assert_eq!(l("s1"), "Biology · Mitchell High");
        assert_eq!(l("Rs2"), "Biology · Hampton High");
        assert_eq!(l("s3"), "Health");
        assert_eq!(l("s4"), "Pottery · Mitchell High (400)");
        assert_eq!(l("s5"), "Pottery · Mitchell High (500)");
        // Unknown or missing SIS ids fall back to the group id; no class at all is no label.
        assert_eq!(
            names.label(Some("72AA7803-11D6"), Some("nope")).unwrap(),
            "class 72AA7803"
        );
        assert_eq!(names.label(None, None), None);
        assert_eq!(names.label(Some(""), None), None);
    }
}
