//! A look at a custom source before it is defined: per entity, the first rows of its first
//! file and each column's type as inferred from the data next to the type the metadata.csv
//! gives, with the mismatches spelled out.

use std::path::Path;

use super::Module;
use super::custom::{EntityDef, MetadataModule};
use crate::formats::FormatError;
use crate::formats::records::{self, Next};
use crate::formats::values::{DayOrder, parse_field};
use crate::lake::schema::ColType;
use crate::pseudo::{Metadata, Op};

/// Rows read to infer types.
const SAMPLE_ROWS: usize = 500;

/// One column of the preview.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnCheck {
    pub name: String,
    /// The type the metadata gives; `None` when the metadata lacks the column.
    pub metadata: Option<ColType>,
    /// The narrowest type every sampled value fits; `None` when the file lacks the column or
    /// every sampled value is empty.
    pub inferred: Option<ColType>,
    /// What does not line up, for the user; `None` when the column is fine.
    pub issue: Option<String>,
}

/// One entity of the preview.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityPreview {
    pub entity: String,
    /// Input files found for the entity.
    pub files: usize,
    /// The file shown (relative to the folder).
    pub sample_file: Option<String>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub columns: Vec<ColumnCheck>,
    /// Why the sample could not be read.
    pub error: Option<String>,
}

impl EntityPreview {
    /// Number of columns with an issue.
    pub fn mismatches(&self) -> usize {
        self.columns.iter().filter(|c| c.issue.is_some()).count()
    }
}

/// Previews every entity of `metadata` found under `dir` (one subfolder or file per entity).
pub fn preview(metadata: &Metadata, dir: &Path, rows: usize) -> Vec<EntityPreview> {
    let defs: Vec<EntityDef> = metadata
        .entities
        .iter()
        .map(|e| EntityDef {
            name: e.name.clone(),
            batch: super::BatchType::Snapshot,
            key: Vec::new(),
        })
        .collect();
    let Ok(module) = MetadataModule::new("preview", "v1.0", "preview", metadata, &defs) else {
        return Vec::new();
    };
    use crate::sources::Source;
    let listed = match crate::sources::FolderSource::new(dir).list() {
        Ok(l) => l,
        Err(e) => {
            return vec![EntityPreview {
                error: Some(e.to_string()),
                ..Default::default()
            }];
        }
    };
    let mut files: Vec<(String, std::path::PathBuf)> = listed
        .into_iter()
        .map(|f| {
            let path = dir.join(&f.path);
            (f.path, path)
        })
        .collect();
    files.sort();
    module
        .entities()
        .iter()
        .map(|entity| {
            let mine: Vec<&(String, std::path::PathBuf)> = files
                .iter()
                .filter(|(rel, _)| {
                    module
                        .classify(rel)
                        .is_some_and(|c| c.entity == entity.name)
                })
                .collect();
            let mut p = EntityPreview {
                entity: entity.name.clone(),
                files: mine.len(),
                ..Default::default()
            };
            let meta_cols: Vec<(String, ColType, Op)> = entity
                .metadata
                .attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty, a.op))
                .collect();
            match mine.first() {
                Some((rel, path)) => {
                    p.sample_file = Some(rel.clone());
                    if let Err(e) = sample(&mut p, path, rel, rows) {
                        p.error = Some(e.to_string());
                    }
                }
                None => p.error = Some("no files for this entity in the folder".into()),
            }
            p.columns = check_columns(&p, &meta_cols);
            p
        })
        .collect()
}

/// Reads the header and sampled rows of one file.
fn sample(p: &mut EntityPreview, path: &Path, rel: &str, shown: usize) -> Result<(), FormatError> {
    let mut rdr = records::open(path, rel)?;
    let mut rec = csv::StringRecord::new();
    if !rdr.first(&mut rec)? {
        return Err(FormatError::WrongFormat {
            file: rel.into(),
            what: "table with a header row".into(),
            detail: "it is empty".into(),
        });
    }
    p.header = rec
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut n = 0;
    while n < SAMPLE_ROWS.max(shown) {
        match rdr.next(&mut rec)? {
            Next::Row(_) => {
                p.rows.push(rec.iter().map(str::to_string).collect());
                n += 1;
            }
            Next::Bad(_) => continue,
            Next::End => break,
        }
    }
    Ok(())
}

/// Infers the narrowest type the values fit.
pub fn infer<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Option<ColType> {
    let non_empty = values.filter(|v| !v.trim().is_empty());
    non_empty.clone().next()?;
    let fits = |ty: ColType| {
        non_empty
            .clone()
            .all(|v| parse_field(v.as_bytes(), ty, DayOrder::MonthFirst).is_ok())
    };
    let words = non_empty.clone().all(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no"
        )
    });
    Some(if words {
        ColType::Boolean
    } else if fits(ColType::Integer) {
        ColType::Integer
    } else if fits(ColType::Long) {
        ColType::Long
    } else if fits(ColType::Double) {
        ColType::Double
    } else if fits(ColType::Date) {
        ColType::Date
    } else if fits(ColType::Timestamp) {
        ColType::Timestamp
    } else {
        ColType::String
    })
}

fn check_columns(p: &EntityPreview, meta: &[(String, ColType, Op)]) -> Vec<ColumnCheck> {
    let mut out = Vec::new();
    let sampled = p.error.is_none();
    for (name, ty, op) in meta {
        // Values of protected columns are never shown, not even the one that does not read.
        let protected = matches!(op, Op::Hash | Op::HashNoLookup | Op::Mask);
        let idx = p.header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let values = || {
            p.rows
                .iter()
                .filter_map(move |r| idx.and_then(|i| r.get(i)).map(String::as_str))
        };
        let inferred = idx.and_then(|_| infer(values()));
        let issue = match idx {
            None if sampled => Some("missing from the file: the column will be empty".into()),
            None => None,
            Some(i) => p.rows.iter().enumerate().find_map(|(row, r)| {
                let v = r.get(i)?;
                parse_field(v.as_bytes(), *ty, DayOrder::Auto)
                    .err()
                    .map(|why| {
                        let shown = if protected {
                            "•••".to_string()
                        } else {
                            v.chars().take(40).collect::<String>()
                        };
                        format!(
                            "the metadata says {} but row {} holds `{shown}`, which {why}",
                            ty.name(),
                            row + 1,
                        )
                    })
            }),
        };
        out.push(ColumnCheck {
            name: name.clone(),
            metadata: Some(*ty),
            inferred,
            issue,
        });
    }
    for (i, h) in p.header.iter().enumerate() {
        if meta.iter().any(|(n, _, _)| n.eq_ignore_ascii_case(h)) {
            continue;
        }
        out.push(ColumnCheck {
            name: h.clone(),
            metadata: None,
            inferred: infer(p.rows.iter().filter_map(|r| r.get(i)).map(String::as_str)),
            issue: Some(
                "not in the metadata: kept as text in the Ingested table, left out of general"
                    .into(),
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_types_and_names_mismatches() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Metadata::parse(
            "Entity Name,Attribute Name,Attribute Data Type,Pseudonymization\npeople,,,\n,id,string,hash\n,grade,integer,no-op\n,born,date,mask\n",
            "m.csv",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("people")).unwrap();
        std::fs::write(
            dir.path().join("people/p.jsonl"),
            "{\"id\":\"a\",\"grade\":9,\"extra\":1.5}\n{\"id\":\"b\",\"grade\":\"K\",\"extra\":2}\n",
        )
        .unwrap();
        let p = preview(&meta, dir.path(), 10);
        assert_eq!(p.len(), 1);
        let p = &p[0];
        assert_eq!(p.files, 1);
        assert_eq!(p.rows.len(), 2);
        let col = |n: &str| p.columns.iter().find(|c| c.name == n).unwrap();
        assert_eq!(col("id").issue, None);
        assert_eq!(col("grade").inferred, Some(ColType::String));
        assert!(
            col("grade")
                .issue
                .as_ref()
                .unwrap()
                .contains("row 2 holds `K`")
        );
        assert!(col("born").issue.as_ref().unwrap().contains("missing"));
        assert_eq!(col("extra").inferred, Some(ColType::Double));
        assert!(
            col("extra")
                .issue
                .as_ref()
                .unwrap()
                .contains("not in the metadata")
        );
        assert_eq!(p.mismatches(), 3);
        assert_eq!(infer(["1", "", "20"].into_iter()), Some(ColType::Integer));
        assert_eq!(infer(["2024-01-02"].into_iter()), Some(ColType::Date));
        assert_eq!(infer(["", " "].into_iter()), None);
    }

    #[test]
    fn values_of_protected_columns_are_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Metadata::parse(
            "Entity Name,Attribute Name,Attribute Data Type,Pseudonymization\npeople,,,\n,id,integer,hash\n,grade,integer,no-op\n",
            "m.csv",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("people")).unwrap();
        std::fs::write(dir.path().join("people/p.csv"), "id,grade\n123-45-6789,K\n").unwrap();
        let p = &preview(&meta, dir.path(), 10)[0];
        let issue = |n: &str| {
            p.columns
                .iter()
                .find(|c| c.name == n)
                .and_then(|c| c.issue.clone())
                .unwrap()
        };
        assert!(issue("id").contains("holds `•••`"), "{}", issue("id"));
        assert!(!issue("id").contains("123"), "{}", issue("id"));
        assert!(issue("grade").contains("holds `K`"), "{}", issue("grade"));
    }
}
