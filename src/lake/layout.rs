//! Where things live inside a lake folder (the OEA v0.8 layout) and how tables are named.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::settle::Cache;

/// The layers of the lake a table can sit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// `stage2/Ingested`: typed raw data, restricted.
    Ingested,
    /// `stage2/Refined/.../general`: pseudonymized, safe to share.
    General,
    /// `stage2/Refined/.../sensitive`: lookups from pseudonyms back to people, restricted.
    Sensitive,
    /// `stage2/Quarantine`: rows that could not be read, with file, line and reason; restricted.
    Quarantine,
    /// `stage3`: derived tables built from general data.
    Stage3,
}

impl Layer {
    /// All layers, in the order a catalog lists them.
    pub const ALL: [Layer; 5] = [
        Layer::Ingested,
        Layer::General,
        Layer::Sensitive,
        Layer::Quarantine,
        Layer::Stage3,
    ];

    /// The short name used in table ids.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Ingested => "ingested",
            Layer::General => "general",
            Layer::Sensitive => "sensitive",
            Layer::Quarantine => "quarantine",
            Layer::Stage3 => "stage3",
        }
    }

    /// Parses a short layer name.
    pub fn parse(s: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == s)
    }

    /// Whether reading this layer can reveal raw student data (needs an explicit unlock).
    pub fn is_restricted(self) -> bool {
        matches!(self, Layer::Ingested | Layer::Sensitive | Layer::Quarantine)
    }
}

/// The source and entity of [`TableRef::all_quarantine`]: `*` is no source system's name.
const ALL: &str = "*";

/// A table in the lake: layer, source system, module version and entity folder name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableRef {
    pub layer: Layer,
    pub source: String,
    pub version: String,
    pub entity: String,
}

impl TableRef {
    /// Builds a table reference.
    pub fn new(layer: Layer, source: &str, version: &str, entity: &str) -> Self {
        Self {
            layer,
            source: source.into(),
            version: version.into(),
            entity: entity.into(),
        }
    }

    /// The sensitive lookup table that goes with a general table.
    pub fn lookup_of(&self) -> TableRef {
        TableRef::new(
            Layer::Sensitive,
            &self.source,
            &self.version,
            &format!("{}_lookup", self.entity),
        )
    }

    /// The table's folder relative to the lake root.
    pub fn rel_path(&self) -> PathBuf {
        let (s, v, e) = (&self.source, &self.version, &self.entity);
        let p = match self.layer {
            Layer::Ingested => format!("stage2/Ingested/{s}/{v}/{e}"),
            Layer::General => format!("stage2/Refined/{s}/{v}/general/{e}"),
            Layer::Sensitive => format!("stage2/Refined/{s}/{v}/sensitive/{e}"),
            Layer::Quarantine => format!("stage2/Quarantine/{s}/{v}/{e}"),
            Layer::Stage3 => format!("stage3/{s}/{v}/{e}"),
        };
        PathBuf::from(p)
    }

    /// The short id users type: `<layer>/<source>/<entity>` (`quarantine/all` for
    /// [`TableRef::all_quarantine`]).
    pub fn id(&self) -> String {
        if self.is_all_quarantine() {
            return format!("{}/all", self.layer.name());
        }
        format!("{}/{}/{}", self.layer.name(), self.source, self.entity)
    }

    /// Every quarantine table at once: a view over them (each row with its table named), not a
    /// folder of its own. A run's set-aside rows are found here whatever entity they were for.
    pub fn all_quarantine() -> TableRef {
        TableRef::new(Layer::Quarantine, ALL, ALL, ALL)
    }

    /// Whether this is the view over every quarantine table.
    pub fn is_all_quarantine(&self) -> bool {
        self.layer == Layer::Quarantine && self.source == ALL && self.entity == ALL
    }
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

/// Whether a table's files stay in the OS cache once settled: a general table's do (stage3, the
/// charts and the preview read them next); other layers' files are seldom read soon after.
pub fn cache_for(table_dir: &Path) -> Cache {
    let named = |p: Option<&Path>, want: &str| p.and_then(|p| p.file_name()) == Some(want.as_ref());
    let general =
        named(table_dir.parent(), "general") && named(table_dir.ancestors().nth(4), "Refined");
    if general { Cache::Keep } else { Cache::Drop }
}

/// Stage1 landing folder for one batch of raw files:
/// `stage1/Transactional/<source>/<version>/<entity>/<batch>_batch_data/rundate=<YYYY-MM-DD HH-MM-SS>`.
pub fn landing_dir(
    root: &Path,
    source: &str,
    version: &str,
    entity: &str,
    batch: &str,
    rundate: &str,
) -> PathBuf {
    root.join("stage1/Transactional")
        .join(source)
        .join(version)
        .join(entity)
        .join(format!("{batch}_batch_data"))
        .join(format!("rundate={rundate}"))
}

/// A run date as OEA writes it in folder names (no `:`; Windows forbids it).
pub fn rundate(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H-%M-%S").to_string()
}

/// Delta and Hive escape characters that are unsafe in folder names.
pub fn escape_partition(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for ch in v.chars() {
        if ch.is_ascii_control() || "\"#%'*/:=?\\{[]^".contains(ch) {
            out.push_str(&format!("%{:02X}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_general_tables_stay_cached() {
        let root = Path::new("/lake");
        for layer in Layer::ALL {
            let t = TableRef::new(layer, "clever", "v1.0", "general");
            let want = if layer == Layer::General {
                Cache::Keep
            } else {
                Cache::Drop
            };
            assert_eq!(cache_for(&root.join(t.rel_path())), want, "{layer:?}");
        }
    }

    #[test]
    fn paths_follow_oea_layout() {
        let t = TableRef::new(Layer::General, "clever", "v1.0", "daily_participation");
        assert_eq!(
            t.rel_path(),
            PathBuf::from("stage2/Refined/clever/v1.0/general/daily_participation")
        );
        assert_eq!(
            t.lookup_of().rel_path(),
            PathBuf::from("stage2/Refined/clever/v1.0/sensitive/daily_participation_lookup")
        );
        assert_eq!(t.id(), "general/clever/daily_participation");
        let d = landing_dir(
            Path::new("/l"),
            "clever",
            "v1.0",
            "dp",
            "additive",
            "2026-01-02 03-04-05",
        );
        assert_eq!(
            d,
            PathBuf::from(
                "/l/stage1/Transactional/clever/v1.0/dp/additive_batch_data/rundate=2026-01-02 03-04-05"
            )
        );
        assert!(!rundate(chrono::Utc::now()).contains(':'));
    }
}
