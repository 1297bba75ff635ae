//! Clever roster files in Clever's SFTP roster CSV format (schools, students, teachers, staff,
//! sections, enrollments), each a snapshot of the whole roster. A preset of the
//! metadata-driven module; `pipeline::roster` adds the sync semantics (transfers, reactivations).

use crate::pseudo::Metadata;

use super::BatchType;
use super::custom::{EntityDef, MetadataModule};

/// The module's folder in the lake.
pub const SOURCE: &str = "clever_roster";
/// The module's version folder.
pub const VERSION: &str = "v1.0";
/// Pseudonymization of the roster columns: ids hashed (so sources can be matched on them),
/// names, contacts and demographics masked.
pub const METADATA: &str = include_str!("../../assets/modules/clever_roster.metadata.csv");

/// Builds the roster module.
pub fn module() -> Result<MetadataModule, super::ModuleError> {
    let def = |name: &str, key: &[&str]| EntityDef {
        name: name.into(),
        batch: BatchType::Snapshot,
        key: key.iter().map(|k| k.to_string()).collect(),
    };
    let defs = [
        def("schools", &["School_id"]),
        def("students", &["Student_id"]),
        def("teachers", &["Teacher_id"]),
        def("staff", &["Staff_id"]),
        def("sections", &["Section_id"]),
        def("enrollments", &["Section_id", "Student_id"]),
    ];
    let metadata = Metadata::parse(METADATA, "clever_roster.metadata.csv")?;
    MetadataModule::new(SOURCE, VERSION, "Clever rosters", &metadata, &defs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::Module;

    #[test]
    fn roster_files_are_recognised_in_dated_folders() {
        let m = module().unwrap();
        let c = m.classify("2024-09-03/students.csv").unwrap();
        assert_eq!(
            (c.entity.as_str(), c.sub_path.as_str()),
            ("students", "students.csv")
        );
        assert!(m.classify("2024-09-03/enrollments.csv").is_some());
        assert!(m.classify("2024-09-03/notes.csv").is_none());
        let e = m.entity("students").unwrap();
        assert_eq!(e.batch, BatchType::Snapshot);
    }
}
