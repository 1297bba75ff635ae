//! Identity matching: which roster student each source's student id belongs to.
//!
//! The district chooses, per source, which roster identifier that source's student ids carry
//! (Clever `sis_id`, `student_number` or `state_id`). Matching runs on pseudonyms only: with one
//! salt per lake, two raw values are equal exactly when their pseudonyms are, so no raw id is
//! read. Blank ids never match. The result is the pseudonymized `identity_map` table in stage2
//! (source, source pseudonym, roster pseudonym, match) plus match rates per source; the hybrid
//! engagement figures read sources through it (see [`Resolver`]).

use std::collections::HashMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::{MetricError, table, tables};
use crate::lake::{Lake, LakeError, Layer, TableRef, write_atomic};

/// A roster identifier a source can be linked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RosterKey {
    /// Clever `sis_id` (`Student_id` in the SFTP roster files).
    #[default]
    SisId,
    StudentNumber,
    StateId,
}

impl RosterKey {
    pub const ALL: [RosterKey; 3] = [
        RosterKey::SisId,
        RosterKey::StudentNumber,
        RosterKey::StateId,
    ];

    /// The name users pick (`sis_id`).
    pub fn name(self) -> &'static str {
        match self {
            RosterKey::SisId => "sis_id",
            RosterKey::StudentNumber => "student_number",
            RosterKey::StateId => "state_id",
        }
    }

    /// Parses a name from [`RosterKey::name`].
    pub fn parse(s: &str) -> Option<RosterKey> {
        RosterKey::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The pseudonym column of the roster status table.
    fn column(self) -> &'static str {
        match self {
            RosterKey::SisId => "student",
            RosterKey::StudentNumber => "student_number",
            RosterKey::StateId => "state_id",
        }
    }
}

/// A source whose student ids are matched to the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdSource {
    /// Clever participation reports (`sis_id`).
    Clever,
    /// SIS attendance and student files (`student_id`, `SIS ID`).
    Sis,
    /// Microsoft Insights activity (`ActorId`, the AadUser object id).
    Insights,
}

impl IdSource {
    pub const ALL: [IdSource; 3] = [IdSource::Clever, IdSource::Sis, IdSource::Insights];

    /// The name users pick (`sis`).
    pub fn name(self) -> &'static str {
        match self {
            IdSource::Clever => "clever",
            IdSource::Sis => "sis",
            IdSource::Insights => "insights",
        }
    }

    /// What the source's id is, for people.
    pub fn id_label(self) -> &'static str {
        match self {
            IdSource::Clever => "Clever participation sis_id",
            IdSource::Sis => "SIS student_id",
            IdSource::Insights => "Insights AadUser id (ActorId)",
        }
    }

    /// Parses a name from [`IdSource::name`].
    pub fn parse(s: &str) -> Option<IdSource> {
        IdSource::ALL.into_iter().find(|k| k.name() == s)
    }

    /// (table, pseudonym column, student-rows filter) the source's ids are read from.
    fn inputs(self) -> Vec<(TableRef, &'static str, Option<Expr>)> {
        match self {
            IdSource::Clever => vec![
                (
                    tables::clever_dp(),
                    "sis_id_pseudonym",
                    Some(col("role").eq(lit("students"))),
                ),
                (tables::clever_ru(), "sis_id_pseudonym", None),
            ],
            IdSource::Sis => vec![
                (tables::attendance(), "student_id_pseudonym", None),
                (tables::students(), "SIS_ID_pseudonym", None),
            ],
            IdSource::Insights => vec![(
                tables::activity(),
                "ActorId_pseudonym",
                Some(
                    col("ActorRole")
                        .eq(lit("Student"))
                        .or(col("ActorRole").is_null()),
                ),
            )],
        }
    }
}

/// Which roster identifier each source carries (saved in the lake).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentityConfig {
    pub clever: RosterKey,
    pub sis: RosterKey,
    pub insights: RosterKey,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            clever: RosterKey::SisId,
            sis: RosterKey::SisId,
            insights: RosterKey::SisId,
        }
    }
}

impl IdentityConfig {
    /// The key of one source.
    pub fn key(&self, s: IdSource) -> RosterKey {
        match s {
            IdSource::Clever => self.clever,
            IdSource::Sis => self.sis,
            IdSource::Insights => self.insights,
        }
    }

    /// Sets the key of one source.
    pub fn set(&mut self, s: IdSource, k: RosterKey) {
        match s {
            IdSource::Clever => self.clever = k,
            IdSource::Sis => self.sis = k,
            IdSource::Insights => self.insights = k,
        }
    }

    fn path(lake: &Lake) -> std::path::PathBuf {
        lake.meta_dir().join("identity").join("config.json")
    }

    /// The lake's configuration (defaults when none was saved).
    pub fn load(lake: &Lake) -> Result<IdentityConfig, LakeError> {
        let p = Self::path(lake);
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| LakeError::Corrupt {
                path: p,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(IdentityConfig::default()),
            Err(e) => Err(LakeError::io(&p, e)),
        }
    }

    /// Saves the configuration.
    pub fn save(&self, lake: &Lake) -> Result<(), LakeError> {
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        write_atomic(&Self::path(lake), &bytes)
    }
}

/// Match counts of one source (distinct ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MatchRate {
    pub source: String,
    pub key: String,
    /// Distinct non-blank ids the source holds.
    pub ids: u64,
    pub matched: u64,
    pub unmatched: u64,
    /// Ids whose value more than one roster student carries (left unmatched).
    pub ambiguous: u64,
    /// Up to five unmatched ids, as pseudonyms.
    pub unmatched_examples: Vec<String>,
}

impl MatchRate {
    /// Share of ids matched (0 when the source has none).
    pub fn rate(&self) -> f64 {
        if self.ids == 0 {
            0.0
        } else {
            self.matched as f64 / self.ids as f64
        }
    }
}

/// One rebuild of the identity map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityBuild {
    pub at: chrono::DateTime<chrono::Utc>,
    pub config: IdentityConfig,
    pub rates: Vec<MatchRate>,
}

/// The identity map table.
pub fn map_table() -> TableRef {
    TableRef::new(Layer::General, "identity", "v1.0", "identity_map")
}

/// Roster students ever seen (the status table written by each roster sync).
pub fn status_table() -> TableRef {
    TableRef::new(
        Layer::General,
        crate::modules::roster::SOURCE,
        crate::modules::roster::VERSION,
        "student_status",
    )
}

fn history_path(lake: &Lake) -> std::path::PathBuf {
    lake.meta_dir().join("identity").join("builds.jsonl")
}

/// Every identity-map build, oldest first.
pub fn history(lake: &Lake) -> Result<Vec<IdentityBuild>, LakeError> {
    let p = history_path(lake);
    match std::fs::read_to_string(&p) {
        Ok(s) => Ok(s
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(LakeError::io(&p, e)),
    }
}

fn strings(df: &DataFrame, c: &str) -> PolarsResult<Vec<Option<String>>> {
    Ok(df
        .column(c)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// Distinct non-blank student pseudonyms of a source.
fn source_ids(lake: &Lake, s: IdSource) -> Result<Vec<String>, MetricError> {
    let mut ids = std::collections::BTreeSet::new();
    for (t, c, filter) in s.inputs() {
        let Some(lf) = table(lake, &t)? else { continue };
        let lf = match filter {
            Some(f) => lf.filter(f),
            None => lf,
        };
        let df = lf
            .select([col(c).alias("id")])
            .filter(col("id").is_not_null())
            .unique(None, UniqueKeepStrategy::Any)
            .collect()?;
        ids.extend(strings(&df, "id")?.into_iter().flatten());
    }
    Ok(ids.into_iter().collect())
}

/// Rebuilds the identity map from the roster and every source, with `config`; `None` when the
/// lake has no roster yet. Records the build (rates) in the lake's identity history.
pub fn rebuild(lake: &Lake, config: &IdentityConfig) -> Result<Option<IdentityBuild>, MetricError> {
    let Some(roster) = table(lake, &status_table())? else {
        return Ok(None);
    };
    let roster = roster
        .select([col("student"), col("student_number"), col("state_id")])
        .collect()?;
    let students = strings(&roster, "student")?;
    let (mut src_col, mut src_id, mut person, mut how) = (vec![], vec![], vec![], vec![]);
    let mut rates = Vec::new();
    for s in IdSource::ALL {
        let key = config.key(s);
        // Roster value → the students carrying it (blank values never enter).
        let mut by_value: HashMap<String, Vec<&str>> = HashMap::new();
        for (v, st) in strings(&roster, key.column())?.iter().zip(&students) {
            if let (Some(v), Some(st)) = (v, st) {
                let e = by_value.entry(v.clone()).or_default();
                if !e.contains(&st.as_str()) {
                    e.push(st);
                }
            }
        }
        let mut rate = MatchRate {
            source: s.name().into(),
            key: key.name().into(),
            ..Default::default()
        };
        for id in source_ids(lake, s)? {
            rate.ids += 1;
            let (p, m) = match by_value.get(&id).map(Vec::as_slice) {
                Some([one]) => {
                    rate.matched += 1;
                    (Some(one.to_string()), "matched")
                }
                Some(_) => {
                    rate.ambiguous += 1;
                    (None, "ambiguous")
                }
                None => {
                    rate.unmatched += 1;
                    if rate.unmatched_examples.len() < 5 {
                        rate.unmatched_examples.push(id.clone());
                    }
                    (None, "unmatched")
                }
            };
            src_col.push(s.name());
            src_id.push(id);
            person.push(p);
            how.push(m);
        }
        rates.push(rate);
    }
    let n = src_id.len();
    let df = DataFrame::new(
        n,
        vec![
            Column::new("source".into(), src_col),
            Column::new("source_pseudonym".into(), src_id),
            Column::new("person_pseudonym".into(), person),
            Column::new("match".into(), how),
        ],
    )?;
    super::stage3::replace(lake, &map_table(), df)?;
    let build = IdentityBuild {
        at: chrono::Utc::now(),
        config: *config,
        rates,
    };
    // Only a build that changed something goes into the history (every stage3 rebuild
    // refreshes the map; the history is for "before and after" a change).
    let last = history(lake)?.pop();
    if last.is_some_and(|l| l.config == build.config && l.rates == build.rates) {
        return Ok(Some(build));
    }
    let p = history_path(lake);
    let mut text = std::fs::read_to_string(&p).unwrap_or_default();
    text.push_str(&serde_json::to_string(&build).unwrap_or_default());
    text.push('\n');
    write_atomic(&p, text.as_bytes())?;
    Ok(Some(build))
}

/// Reads sources through the identity map: a matched id becomes its roster student's pseudonym,
/// other ids stay as they are (so a lake without a roster behaves as before).
#[derive(Default, Clone)]
pub struct Resolver {
    maps: HashMap<IdSource, DataFrame>,
}

impl Resolver {
    /// Loads the lake's identity map (empty when there is none).
    pub fn load(lake: &Lake) -> Result<Resolver, MetricError> {
        let Some(lf) = table(lake, &map_table())? else {
            return Ok(Resolver::default());
        };
        let mut maps = HashMap::new();
        for s in IdSource::ALL {
            let df = lf
                .clone()
                .filter(
                    col("source")
                        .eq(lit(s.name()))
                        .and(col("person_pseudonym").is_not_null()),
                )
                .select([
                    col("source_pseudonym").alias("__src"),
                    col("person_pseudonym").alias("__person"),
                ])
                .collect()?;
            if df.height() > 0 {
                maps.insert(s, df);
            }
        }
        Ok(Resolver { maps })
    }

    /// Replaces column `c` of `lf` (a source's student pseudonyms) by roster pseudonyms.
    pub fn apply(&self, lf: LazyFrame, s: IdSource, c: &str) -> LazyFrame {
        let Some(map) = self.maps.get(&s) else {
            return lf;
        };
        lf.join(
            map.clone().lazy(),
            [col(c)],
            [col("__src")],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left)
            },
        )
        .with_column(
            when(col("__person").is_not_null())
                .then(col("__person"))
                .otherwise(col(c))
                .alias(c),
        )
        .drop(cols(["__person"]))
    }
}
