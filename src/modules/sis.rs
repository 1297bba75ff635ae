//! Student information system files in the OEA Contoso SIS formats: attendance (additive),
//! students and demographics (upserted on `SIS ID`) and section marks (snapshot). A preset of the
//! metadata-driven module.

use crate::pseudo::Metadata;

use super::BatchType;
use super::custom::{EntityDef, MetadataModule};

/// The module's default pseudonymization metadata (OEA Contoso SIS semantics).
pub const METADATA: &str = include_str!("../../assets/modules/contoso_sis.metadata.csv");

/// Builds the SIS module.
pub fn module() -> Result<MetadataModule, super::ModuleError> {
    let def = |name: &str, batch, key: &[&str]| EntityDef {
        name: name.into(),
        batch,
        key: key.iter().map(|k| k.to_string()).collect(),
    };
    let defs = [
        def("studentattendance", BatchType::Additive, &["id"]),
        def("students", BatchType::Delta, &["SIS ID"]),
        def("studentdemographics", BatchType::Delta, &["SIS ID"]),
        def("studentsectionmark", BatchType::Snapshot, &["id"]),
    ];
    let metadata = Metadata::parse(METADATA, "contoso_sis.metadata.csv")?;
    MetadataModule::new("contoso_sis", "v0.1", "SIS files", &metadata, &defs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::Module;

    #[test]
    fn preset_builds_and_classifies_entity_folders_and_files() {
        let metadata = Metadata::parse(METADATA, "m").unwrap();
        assert!(metadata.entity("students").is_some());
        let m = module().unwrap();
        assert_eq!(m.entities().len(), 4);
        let c = m.classify("day1/students/part1.csv").unwrap();
        assert_eq!(
            (c.entity.as_str(), c.sub_path.as_str()),
            ("students", "part1.csv")
        );
        let c = m.classify("batch1/studentattendance.csv").unwrap();
        assert_eq!(c.entity, "studentattendance");
        assert!(m.classify("day1/other/part1.csv").is_none());
    }
}
