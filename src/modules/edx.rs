//! edX course downloads: per course run, the instructor dashboard's `grade_report` and
//! `student_profile_info` CSVs. The course run comes from the file name edX gives
//! (`DemoX_DA101x_1T2025_grade_report_2025-05-02-1200.csv` → `DemoX+DA101x+1T2025`); a newer
//! download of the same run updates its rows (upsert on run and learner).

use crate::formats::parse::FieldSpec;
use crate::formats::values::DayOrder;
use crate::pseudo::Metadata;

use super::{BatchType, Classified, Entity, Module, Partitioning};

/// The module's folder in the lake.
pub const SOURCE: &str = "edx";
/// The module's version folder.
pub const VERSION: &str = "v1.0";
/// Pseudonymization: learner ids, usernames and emails hashed; names, addresses and
/// demographics masked.
pub const METADATA: &str = include_str!("../../assets/modules/edx.metadata.csv");

/// File-name markers of the two downloads, and their entities.
const KINDS: [(&str, &str); 3] = [
    ("_grade_report_", "grade_report"),
    ("_student_profile_info_", "profile_info"),
    ("_profile_info_", "profile_info"),
];

/// The edX reports module.
pub struct Edx {
    entities: Vec<Entity>,
}

impl Edx {
    /// Builds the module.
    pub fn new() -> Result<Edx, super::ModuleError> {
        let metadata = Metadata::parse(METADATA, "edx.metadata.csv")?;
        let mut entities = Vec::new();
        for (name, what, key) in [
            ("grade_report", "edX grade report", "Student ID"),
            ("profile_info", "edX student profile download", "id"),
        ] {
            let meta = metadata
                .entity(name)
                .ok_or_else(|| super::ModuleError::NoEntity(name.into()))?;
            let fields = meta
                .attributes
                .iter()
                .filter(|a| a.name != "course_run")
                .map(|a| {
                    if a.name == key {
                        FieldSpec::required(&a.name, a.ty)
                    } else {
                        FieldSpec::optional(&a.name, a.ty)
                    }
                })
                .collect();
            entities.push(Entity {
                name: name.into(),
                what: what.into(),
                batch: BatchType::Delta,
                fields,
                constants: vec!["course_run".into()],
                primary_key: vec!["course_run".into(), key.into()],
                metadata: meta.clone(),
                partitioning: Partitioning::None,
                day_order: DayOrder::MonthFirst,
                headerless: false,
                layouts: Vec::new(),
            });
        }
        Ok(Edx { entities })
    }
}

/// The course run (`DemoX+DA101x+1T2025`) of a download named by edX, and its entity.
pub fn course_run(file_name: &str) -> Option<(String, &'static str)> {
    let lower = file_name.to_ascii_lowercase();
    if !lower.ends_with(".csv") {
        return None;
    }
    let (at, entity) = KINDS
        .iter()
        .find_map(|(m, e)| lower.find(m).map(|at| (at, *e)))?;
    let prefix = &file_name[..at];
    let (org, rest) = prefix.split_once('_')?;
    let (course, run) = rest.rsplit_once('_')?;
    Some((format!("{org}+{course}+{run}"), entity))
}

impl Module for Edx {
    fn source(&self) -> &str {
        SOURCE
    }

    fn version(&self) -> &str {
        VERSION
    }

    fn title(&self) -> &str {
        "edX course reports"
    }

    fn entities(&self) -> &[Entity] {
        &self.entities
    }

    fn classify(&self, rel_path: &str) -> Option<Classified> {
        let file = rel_path.rsplit('/').next()?;
        let (_, entity) = course_run(file)?;
        Some(Classified {
            entity: entity.into(),
            sub_path: file.into(),
        })
    }

    fn constants(&self, _entity: &Entity, sub_path: &str) -> Vec<(String, Option<String>)> {
        let file = sub_path.rsplit('/').next().unwrap_or(sub_path);
        vec![("course_run".into(), course_run(file).map(|(r, _)| r))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_runs_come_from_edx_file_names() {
        assert_eq!(
            course_run("DemoX_DA101x_1T2025_grade_report_2025-05-02-1200.csv"),
            Some(("DemoX+DA101x+1T2025".into(), "grade_report"))
        );
        assert_eq!(
            course_run("MITx_6.86x_3T2024_student_profile_info_2024-12-20-1530.csv"),
            Some(("MITx+6.86x+3T2024".into(), "profile_info"))
        );
        assert_eq!(course_run("notes.csv"), None);
        let m = Edx::new().unwrap();
        let c = m
            .classify(
                "runs/DemoX_DA101x_1T2025/DemoX_DA101x_1T2025_grade_report_2025-05-02-1200.csv",
            )
            .unwrap();
        assert_eq!(c.entity, "grade_report");
        assert_eq!(
            m.constants(m.entity("grade_report").unwrap(), &c.sub_path),
            vec![(
                "course_run".to_string(),
                Some("DemoX+DA101x+1T2025".to_string())
            )]
        );
    }
}
