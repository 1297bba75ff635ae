//! Microsoft Education Insights / School Data Sync data-lake export: `activity/<date>/*.csv`
//! (additive) and `roster/<timestamp>/<Entity>/*.csv` (snapshot; only the latest timestamp).
//! The CSVs are headerless: column names and types come from the export's own CDM schema files
//! (`schema/*.cdm.json`), whatever version it ships.

use std::path::Path;

use crate::formats::parse::{FieldSpec, Layout};
use crate::formats::values::DayOrder;
use crate::lake::schema::ColType;
use crate::pseudo::Metadata;
use crate::pseudo::metadata::{Attribute, EntityMetadata, Op};
use crate::sources::RemoteFile;

use super::{BatchType, Classified, Entity, Module, ModuleError, Partitioning};

/// OEA's Insights module metadata: each entity's columns in the order the export's files carry
/// them, their types and pseudonymization. One deliberate change: `PersonIdentifier.Identifier`
/// (a state or SIS id) is hashed, not masked, so identity matching can use it.
pub const METADATA: &str = include_str!("../../assets/modules/insights.metadata.csv");

/// Where a layout comes from, in messages.
const FROM_METADATA: &str = "OEA's Insights metadata";
const FROM_SCHEMA: &str = "the export's CDM schema";

/// The entity name the activity table gets (CDM calls it `TechActivity`).
pub const ACTIVITY: &str = "activity";

/// The Insights module, built from an export's schema files.
#[derive(Debug, Clone)]
pub struct Insights {
    entities: Vec<Entity>,
}

fn cdm_type(t: &str) -> ColType {
    match t.to_ascii_lowercase().as_str() {
        "datetime" | "datetimeoffset" | "timestamp" => ColType::Timestamp,
        "date" => ColType::Date,
        "boolean" | "bool" => ColType::Boolean,
        "int32" | "integer" | "int" | "int16" => ColType::Integer,
        "int64" | "long" | "bigint" => ColType::Long,
        "double" | "decimal" | "float" => ColType::Double,
        _ => ColType::String,
    }
}

impl Insights {
    /// Reads every `*.cdm.json` in `<export>/schema`.
    pub fn from_export(root: &Path) -> Result<Insights, ModuleError> {
        let dir = root.join("schema");
        let mut texts = Vec::new();
        let entries = std::fs::read_dir(&dir).map_err(|source| ModuleError::NoSchema {
            root: root.to_path_buf(),
            source,
        })?;
        for e in entries.flatten() {
            let p = e.path();
            if p.to_string_lossy().ends_with(".cdm.json") {
                let t = std::fs::read_to_string(&p).map_err(|source| ModuleError::Io {
                    path: p.clone(),
                    source,
                })?;
                texts.push((p.display().to_string(), t));
            }
        }
        texts.sort();
        Self::from_schemas(&texts)
    }

    /// Builds entities from CDM schema documents (`(file name, JSON text)`) and OEA's metadata.
    /// The metadata decides which entities and columns there are, their types and
    /// pseudonymization; a schema adds a second possible column order per entity (files are
    /// matched to one of the two, see `pipeline::layout`) and columns the metadata lacks, which
    /// land in the Ingested table only. Entities the metadata does not know are left out.
    pub fn from_schemas(texts: &[(String, String)]) -> Result<Insights, ModuleError> {
        let metadata = Metadata::parse(METADATA, "insights.metadata.csv")?;
        let schemas = cdm_entities(texts)?;
        if schemas.is_empty() {
            return Err(ModuleError::NoEntities);
        }
        let entities = metadata
            .entities
            .iter()
            .map(|m| {
                let cdm = schemas
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&m.name))
                    .map(|(_, a)| a.as_slice());
                entity(m, cdm)
            })
            .collect();
        Ok(Insights { entities })
    }
}

/// An entity's name and its attributes (name, type) in the order a CDM schema lists them.
type CdmEntity = (String, Vec<(String, ColType)>);

/// Each entity's attributes, in order, from CDM schema documents (`TechActivity` is `activity`).
fn cdm_entities(texts: &[(String, String)]) -> Result<Vec<CdmEntity>, ModuleError> {
    let mut out: Vec<CdmEntity> = Vec::new();
    for (file, text) in texts {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|source| ModuleError::Json {
                file: file.clone(),
                source,
            })?;
        for def in v["definitions"].as_array().into_iter().flatten() {
            let Some(cdm_name) = def["entityName"].as_str() else {
                continue;
            };
            let name = if cdm_name == "TechActivity" {
                ACTIVITY
            } else {
                cdm_name
            };
            let attrs: Vec<(String, ColType)> = def["hasAttributes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| {
                    let n = a["name"].as_str()?;
                    let t = a["dataFormat"]
                        .as_str()
                        .or_else(|| a["dataType"]["dataTypeReference"].as_str())
                        .or_else(|| a["dataType"].as_str())
                        .unwrap_or("string");
                    Some((n.to_string(), cdm_type(t)))
                })
                .collect();
            if !attrs.is_empty() && !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_string(), attrs));
            }
        }
    }
    Ok(out)
}

/// Column names as the metadata and a CDM schema may spell them (`Meeting Duration`,
/// `MeetingDuration`).
fn same_column(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    norm(a) == norm(b)
}

fn entity(meta: &EntityMetadata, cdm: Option<&[(String, ColType)]>) -> Entity {
    let name = meta.name.as_str();
    let mut fields: Vec<FieldSpec> = meta
        .attributes
        .iter()
        .map(|a| FieldSpec::optional(&a.name, a.ty))
        .collect();
    let mut layouts = vec![Layout {
        source: FROM_METADATA.into(),
        columns: (0..fields.len()).collect(),
    }];
    if let Some(cdm) = cdm {
        let mut columns: Vec<usize> = Vec::with_capacity(cdm.len());
        for (n, t) in cdm {
            let known = fields
                .iter()
                .position(|f| same_column(&f.name, n))
                .filter(|i| !columns.contains(i));
            columns.push(known.unwrap_or_else(|| {
                fields.push(FieldSpec::optional(n, *t));
                fields.len() - 1
            }));
        }
        if columns != layouts[0].columns {
            layouts.push(Layout {
                source: FROM_SCHEMA.into(),
                columns,
            });
        }
    }
    let mut metadata = meta.clone();
    let is_activity = name == ACTIVITY;
    if is_activity {
        for p in ["year", "month"] {
            metadata.attributes.push(Attribute {
                name: p.into(),
                ty: ColType::Integer,
                op: Op::PartitionBy,
            });
        }
    }
    let key = match name {
        ACTIVITY => vec!["SignalId".to_string()],
        "AadGroupMembership" => vec!["GroupObjectId".to_string(), "UserObjectId".to_string()],
        _ => fields
            .first()
            .map(|f| vec![f.name.clone()])
            .unwrap_or_default(),
    };
    Entity {
        name: name.into(),
        what: format!("Insights {name} file"),
        batch: if is_activity {
            BatchType::Additive
        } else {
            BatchType::Snapshot
        },
        fields,
        constants: Vec::new(),
        primary_key: key,
        metadata,
        partitioning: if is_activity {
            Partitioning::YearMonth {
                from: "StartTime".into(),
            }
        } else {
            Partitioning::None
        },
        day_order: DayOrder::MonthFirst,
        headerless: true,
        layouts,
    }
}

/// `roster/<timestamp>/...`: the timestamp of a roster path.
fn roster_stamp(path: &str) -> Option<&str> {
    let parts: Vec<&str> = path.split('/').collect();
    let at = parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("roster"))?;
    (parts.len() > at + 3).then(|| parts[at + 1])
}

impl Module for Insights {
    fn source(&self) -> &str {
        "ms_insights"
    }

    fn version(&self) -> &str {
        "v0.2"
    }

    fn title(&self) -> &str {
        "Microsoft Education Insights export"
    }

    fn entities(&self) -> &[Entity] {
        &self.entities
    }

    fn select_files(&self, files: Vec<RemoteFile>) -> Vec<RemoteFile> {
        // Only the latest roster snapshot matters (timestamps sort as text).
        let latest = files
            .iter()
            .filter_map(|f| roster_stamp(&f.path))
            .max()
            .map(str::to_string);
        files
            .into_iter()
            .filter(|f| match roster_stamp(&f.path) {
                Some(s) => Some(s) == latest.as_deref(),
                None => true,
            })
            .collect()
    }

    fn classify(&self, rel_path: &str) -> Option<Classified> {
        let parts: Vec<&str> = rel_path.split('/').filter(|p| !p.is_empty()).collect();
        if !parts.last()?.to_ascii_lowercase().ends_with(".csv") {
            return None;
        }
        if let Some(at) = parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case("activity"))
            && parts.len() > at + 1
        {
            return Some(Classified {
                entity: ACTIVITY.into(),
                sub_path: parts[at + 1..].join("/"),
            });
        }
        let at = parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case("roster"))?;
        let folder = parts.get(at + 2)?;
        let e = self
            .entities
            .iter()
            .find(|e| e.name != ACTIVITY && e.name.eq_ignore_ascii_case(folder))?;
        Some(Classified {
            entity: e.name.clone(),
            sub_path: parts[at + 1..].join("/"),
        })
    }

    fn constants(&self, _entity: &Entity, _sub_path: &str) -> Vec<(String, Option<String>)> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{"definitions":[
        {"entityName":"AadUser","hasAttributes":[{"name":"ObjectId","dataFormat":"String"},{"name":"FirstSeenDateTime","dataFormat":"DateTime"},{"name":"GivenName","dataFormat":"String"}]},
        {"entityName":"TechActivity","hasAttributes":[{"name":"SignalType","dataType":{"dataTypeReference":"string"}},{"name":"StartTime","dataType":{"dataTypeReference":"dateTime"}},{"name":"SignalId","dataType":{"dataTypeReference":"string"}},{"name":"ActorId","dataType":{"dataTypeReference":"guid"}}]}
    ]}"#;

    #[test]
    fn entities_come_from_the_schema_files() {
        let m = Insights::from_schemas(&[("s.cdm.json".into(), SCHEMA.into())]).unwrap();
        let u = m.entity("AadUser").unwrap();
        // The metadata's order first; the schema's three columns are a second layout.
        assert_eq!(u.fields[3].name, "FirstSeenDateTime");
        assert_eq!(u.fields[3].ty, ColType::Timestamp);
        assert_eq!(u.layouts[1].columns, [0, 3, 4]);
        assert_eq!(u.metadata.op("ObjectId"), Some(Op::Hash));
        assert_eq!(u.metadata.op("GivenName"), Some(Op::Mask));
        assert_eq!(u.batch, BatchType::Snapshot);
        let a = m.entity(ACTIVITY).unwrap();
        assert_eq!(a.metadata.op("ActorId"), Some(Op::HashNoLookup));
        assert_eq!(a.batch, BatchType::Additive);
        assert!(a.headerless);
    }

    #[test]
    fn only_the_latest_roster_snapshot_is_taken() {
        let m = Insights::from_schemas(&[("s.cdm.json".into(), SCHEMA.into())]).unwrap();
        let f = |p: &str| RemoteFile {
            path: p.into(),
            size: 1,
            mtime: 0,
        };
        let kept = m.select_files(vec![
            f("roster/2021-09-05T06-16-22/AadUser/a.csv"),
            f("roster/2022-01-28T06-16-22/AadUser/a.csv"),
            f("activity/2022-01-03/ApplicationUsage.csv"),
        ]);
        let paths: Vec<&str> = kept.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "roster/2022-01-28T06-16-22/AadUser/a.csv",
                "activity/2022-01-03/ApplicationUsage.csv"
            ]
        );
        assert_eq!(m.classify(paths[0]).unwrap().entity, "AadUser");
        assert_eq!(m.classify(paths[1]).unwrap().entity, ACTIVITY);
    }
}
