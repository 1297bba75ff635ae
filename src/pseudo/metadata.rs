//! OEA `metadata.csv`: which columns each entity has, their types, and how to pseudonymize them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lake::schema::{ColType, Column, TableSchema};

/// A pseudonymization operation, as OEA spells it in `metadata.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// Hash into `<col>_pseudonym`; the lookup keeps original and pseudonym.
    Hash,
    /// Hash into `<col>_pseudonym`; no lookup column (the lookup lives elsewhere).
    HashNoLookup,
    /// `*` in the general table; the original stays in the lookup.
    Mask,
    /// Kept as is in the general table only.
    NoOp,
    /// Kept as is in both tables and used to partition them.
    PartitionBy,
}

impl Op {
    /// Parses an op or its alias (`h`, `hnl`, `m`, `x`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "hash" | "h" => Self::Hash,
            "hash-no-lookup" | "hnl" => Self::HashNoLookup,
            "mask" | "m" => Self::Mask,
            "no-op" | "x" | "noop" => Self::NoOp,
            "partition-by" => Self::PartitionBy,
            _ => return None,
        })
    }

    /// The canonical OEA spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hash => "hash",
            Self::HashNoLookup => "hash-no-lookup",
            Self::Mask => "mask",
            Self::NoOp => "no-op",
            Self::PartitionBy => "partition-by",
        }
    }
}

/// One attribute row of `metadata.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    /// The column name as the source file spells it.
    pub name: String,
    pub ty: ColType,
    pub op: Op,
}

/// One entity with its attributes, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityMetadata {
    pub name: String,
    pub attributes: Vec<Attribute>,
}

impl EntityMetadata {
    /// The op for a column, if the metadata names it.
    pub fn op(&self, column: &str) -> Option<Op> {
        self.attributes
            .iter()
            .find(|a| a.name == column)
            .map(|a| a.op)
    }

    /// The typed schema of the raw entity (columns in metadata order, partition-by columns marked).
    pub fn schema(&self) -> TableSchema {
        let cols = self
            .attributes
            .iter()
            .map(|a| Column::new(a.name.clone(), a.ty))
            .collect();
        let parts: Vec<&str> = self
            .attributes
            .iter()
            .filter(|a| a.op == Op::PartitionBy)
            .map(|a| a.name.as_str())
            .collect();
        TableSchema::new(cols).partitioned(&parts)
    }
}

/// A whole parsed `metadata.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Metadata {
    pub entities: Vec<EntityMetadata>,
}

/// Why a `metadata.csv` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("cannot read metadata file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}, line {line}: {message}")]
    Invalid {
        file: String,
        line: u64,
        message: String,
    },
}

const HEADER: [&str; 4] = [
    "entity name",
    "attribute name",
    "attribute data type",
    "pseudonymization",
];

impl Metadata {
    /// Reads and parses a `metadata.csv` file.
    pub fn from_file(path: &Path) -> Result<Self, MetadataError> {
        let text = std::fs::read_to_string(path).map_err(|source| MetadataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses `metadata.csv` text; `file` names it in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Self, MetadataError> {
        let err = |line: u64, message: String| MetadataError::Invalid {
            file: file.to_string(),
            line,
            message,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let mut out = Metadata::default();
        let mut saw_header = false;
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                err(line, format!("not valid CSV ({e})"))
            })?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let fields: Vec<&str> = rec.iter().map(str::trim).collect();
            if fields.iter().all(|f| f.is_empty()) {
                continue;
            }
            if !saw_header {
                let lower: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
                if lower.len() < 4 || lower[..4] != HEADER {
                    return Err(err(
                        line,
                        "expected the header `Entity Name,Attribute Name,Attribute Data Type,Pseudonymization`".into(),
                    ));
                }
                saw_header = true;
                continue;
            }
            let get = |i: usize| fields.get(i).copied().unwrap_or("");
            if !get(0).is_empty() {
                if !get(1).is_empty() {
                    return Err(err(
                        line,
                        format!(
                            "entity row `{}` must leave the attribute columns empty",
                            get(0)
                        ),
                    ));
                }
                if out.entities.iter().any(|e| e.name == get(0)) {
                    return Err(err(line, format!("entity `{}` appears twice", get(0))));
                }
                out.entities.push(EntityMetadata {
                    name: get(0).to_string(),
                    attributes: Vec::new(),
                });
                continue;
            }
            let Some(entity) = out.entities.last_mut() else {
                return Err(err(line, "attribute row before any entity row".into()));
            };
            let name = get(1);
            if name.is_empty() {
                return Err(err(line, "attribute row without an attribute name".into()));
            }
            let ty = ColType::parse(get(2)).ok_or_else(|| {
                err(
                    line,
                    format!(
                        "unknown data type `{}` for `{name}` (use string, integer, short, long, double, float, boolean, date or timestamp)",
                        get(2)
                    ),
                )
            })?;
            let op = Op::parse(get(3)).ok_or_else(|| {
                err(
                    line,
                    format!(
                        "unknown pseudonymization `{}` for `{name}` (use hash, hash-no-lookup, mask, no-op or partition-by)",
                        get(3)
                    ),
                )
            })?;
            if entity.attributes.iter().any(|a| a.name == name) {
                return Err(err(
                    line,
                    format!("attribute `{name}` appears twice in `{}`", entity.name),
                ));
            }
            entity.attributes.push(Attribute {
                name: name.to_string(),
                ty,
                op,
            });
        }
        if !saw_header {
            return Err(err(1, "the file is empty".into()));
        }
        Ok(out)
    }

    /// Finds an entity by name (case-insensitive).
    pub fn entity(&self, name: &str) -> Option<&EntityMetadata> {
        self.entities
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "Entity Name,Attribute Name,Attribute Data Type,Pseudonymization\n\
students,,,\n,SIS ID,string,h\n,First Name,string,m\n,Grade,string,x\n,school_year,integer,partition-by\n\
att,,,\n,ActorId,string,hnl\n";

    #[test]
    fn parses_entities_ops_and_aliases() {
        let m = Metadata::parse(GOOD, "metadata.csv").unwrap();
        assert_eq!(m.entities.len(), 2);
        let s = m.entity("students").unwrap();
        assert_eq!(s.op("SIS ID"), Some(Op::Hash));
        assert_eq!(s.op("First Name"), Some(Op::Mask));
        assert_eq!(s.op("Grade"), Some(Op::NoOp));
        assert_eq!(s.schema().partition_by, vec!["school_year".to_string()]);
        assert_eq!(
            m.entity("att").unwrap().op("ActorId"),
            Some(Op::HashNoLookup)
        );
    }

    #[test]
    fn bad_type_names_the_line() {
        let text = "Entity Name,Attribute Name,Attribute Data Type,Pseudonymization\ne,,,\n,a,string,hash\n,b,blob,hash\n";
        let e = Metadata::parse(text, "m.csv").unwrap_err().to_string();
        assert!(e.starts_with("m.csv, line 4:"), "{e}");
        assert!(e.contains("blob"), "{e}");
    }

    #[test]
    fn bad_op_and_orphan_attribute_are_errors() {
        let text = "Entity Name,Attribute Name,Attribute Data Type,Pseudonymization\ne,,,\n,a,string,scramble\n";
        assert!(
            Metadata::parse(text, "m")
                .unwrap_err()
                .to_string()
                .contains("line 3")
        );
        let text =
            "Entity Name,Attribute Name,Attribute Data Type,Pseudonymization\n,a,string,hash\n";
        assert!(
            Metadata::parse(text, "m")
                .unwrap_err()
                .to_string()
                .contains("before any entity")
        );
        assert!(
            Metadata::parse("a,b\n", "m")
                .unwrap_err()
                .to_string()
                .contains("header")
        );
    }

    #[test]
    fn reads_the_shared_oea_metadata_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/oea-test-data");
        if !root.exists() {
            eprintln!("skipped: ../shared/oea-test-data is absent");
            return;
        }
        let m = Metadata::from_file(&root.join("contoso_sis/metadata.csv")).unwrap();
        assert_eq!(m.entity("students").unwrap().op("Username"), Some(Op::Mask));
        let m = Metadata::from_file(&root.join("insights/metadata.csv")).unwrap();
        assert_eq!(
            m.entity("activity").unwrap().op("ActorId"),
            Some(Op::HashNoLookup)
        );
    }
}
