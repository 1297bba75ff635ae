//! Clever Participation Reports (`daily-participation` and `resource-usage`, for Students,
//! Teachers and Staff), as Clever delivers them over SFTP: a folder per report, a subfolder per
//! role, CSV files with a header and any file names.

use crate::formats::parse::FieldSpec;
use crate::formats::values::DayOrder;
use crate::lake::schema::ColType;
use crate::pseudo::metadata::{Attribute, EntityMetadata, Op};

use super::{BatchType, Classified, Entity, Module, Partitioning};

/// The Clever module.
pub struct Clever {
    entities: Vec<Entity>,
}

/// Report folders Clever uses, with the entity each one feeds.
const REPORTS: [(&str, &str); 2] = [
    ("daily-participation", "daily_participation"),
    ("resource-usage", "resource_usage"),
];

/// Roles Clever reports on (subfolder names).
pub const ROLES: [&str; 3] = ["Students", "Teachers", "Staff"];

fn metadata(name: &str, fields: &[FieldSpec]) -> EntityMetadata {
    let mut attributes: Vec<Attribute> = fields
        .iter()
        .map(|f| Attribute {
            name: f.name.clone(),
            ty: f.ty,
            op: match f.name.as_str() {
                "sis_id" | "clever_user_id" => Op::Hash,
                _ => Op::NoOp,
            },
        })
        .collect();
    attributes.push(Attribute {
        name: "role".into(),
        ty: ColType::String,
        op: Op::NoOp,
    });
    for p in ["year", "month"] {
        attributes.push(Attribute {
            name: p.into(),
            ty: ColType::Integer,
            op: Op::PartitionBy,
        });
    }
    EntityMetadata {
        name: name.into(),
        attributes,
    }
}

fn entity(name: &str, what: &str, fields: Vec<FieldSpec>) -> Entity {
    Entity {
        name: name.into(),
        what: what.into(),
        batch: BatchType::Additive,
        metadata: metadata(name, &fields),
        fields,
        constants: vec!["role".into()],
        primary_key: Vec::new(),
        partitioning: Partitioning::YearMonth {
            from: "date".into(),
        },
        day_order: DayOrder::MonthFirst,
        headerless: false,
        layouts: Vec::new(),
    }
}

impl Default for Clever {
    fn default() -> Self {
        use ColType::*;
        let common = |extra: Vec<FieldSpec>| {
            let mut v = vec![
                FieldSpec::required("date", Date),
                FieldSpec::required("sis_id", String),
                FieldSpec::required("clever_user_id", String),
                FieldSpec::required("clever_school_id", String),
                FieldSpec::optional("school_name", String),
            ];
            v.extend(extra);
            v
        };
        let dp = common(vec![
            FieldSpec::required("active", Boolean),
            FieldSpec::required("num_logins", Integer),
            FieldSpec::required("num_resources_accessed", Integer),
        ]);
        let ru = common(vec![
            FieldSpec::required("resource_type", String),
            FieldSpec::required("resource_name", String),
            FieldSpec::required("resource_id", String),
            FieldSpec::required("num_access", Integer),
        ]);
        Clever {
            entities: vec![
                entity(
                    "daily_participation",
                    "Clever daily-participation report",
                    dp,
                ),
                entity("resource_usage", "Clever resource-usage report", ru),
            ],
        }
    }
}

fn normalise(s: &str) -> String {
    s.to_ascii_lowercase().replace('_', "-")
}

impl Module for Clever {
    fn source(&self) -> &str {
        "clever"
    }

    fn version(&self) -> &str {
        "v1.0"
    }

    fn title(&self) -> &str {
        "Clever Participation Reports"
    }

    fn entities(&self) -> &[Entity] {
        &self.entities
    }

    fn classify(&self, rel_path: &str) -> Option<Classified> {
        let parts: Vec<&str> = rel_path.split('/').filter(|p| !p.is_empty()).collect();
        let file = parts.last()?;
        if !file.to_ascii_lowercase().ends_with(".csv") {
            return None;
        }
        let at = parts[..parts.len() - 1]
            .iter()
            .rposition(|p| REPORTS.iter().any(|(folder, _)| normalise(p) == *folder))?;
        let (_, entity) = REPORTS
            .iter()
            .find(|(folder, _)| normalise(parts[at]) == *folder)?;
        Some(Classified {
            entity: entity.to_string(),
            sub_path: parts[at + 1..].join("/"),
        })
    }

    fn constants(&self, _entity: &Entity, sub_path: &str) -> Vec<(String, Option<String>)> {
        let first = sub_path.split('/').next().unwrap_or_default();
        let lower = sub_path.to_ascii_lowercase();
        let role = ROLES
            .iter()
            .find(|r| first.eq_ignore_ascii_case(r))
            .or_else(|| {
                ROLES
                    .iter()
                    .find(|r| lower.contains(&r.to_ascii_lowercase()[..r.len() - 1]))
            })
            .map(|r| r.to_ascii_lowercase());
        vec![("role".into(), role)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_report_folders_and_roles() {
        let c = Clever::default();
        let got = c
            .classify("daily-participation/Students/2022-01-03.csv")
            .unwrap();
        assert_eq!(got.entity, "daily_participation");
        assert_eq!(got.sub_path, "Students/2022-01-03.csv");
        let e = c.entity("daily_participation").unwrap();
        assert_eq!(
            c.constants(e, &got.sub_path),
            vec![("role".to_string(), Some("students".to_string()))]
        );
        let got = c.classify("clever/resource-usage/Teachers/x.CSV").unwrap();
        assert_eq!(got.entity, "resource_usage");
        assert_eq!(
            c.constants(e, &got.sub_path)[0].1.as_deref(),
            Some("teachers")
        );
        assert!(c.classify("other/Students/x.csv").is_none());
        assert!(
            c.classify("daily-participation/Students/readme.txt")
                .is_none()
        );
    }

    #[test]
    fn ids_are_hashed_and_the_rest_kept() {
        let c = Clever::default();
        let m = &c.entity("resource_usage").unwrap().metadata;
        assert_eq!(m.op("sis_id"), Some(Op::Hash));
        assert_eq!(m.op("clever_user_id"), Some(Op::Hash));
        assert_eq!(m.op("school_name"), Some(Op::NoOp));
        assert_eq!(m.op("year"), Some(Op::PartitionBy));
    }
}
