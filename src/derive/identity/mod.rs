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

mod config;
mod source_ids;

pub use config::{IdSource, IdentityConfig, InsightsId, RosterKey};

use super::text_values;
use super::{DeriveError, table};
use crate::lake::{Lake, LakeError, Layer, TableRef};
use source_ids::source_ids;

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
    crate::lake::jsonfile::read_lines(&history_path(lake))
}

fn insights_table(entity: &str) -> TableRef {
    TableRef::new(Layer::General, "ms_insights", "v0.2", entity)
}

/// `from → to` pseudonym pairs of a general Insights table (several `to` per `from` possible).
fn pairs(
    lake: &Lake,
    entity: &str,
    from: &str,
    to: &str,
) -> Result<HashMap<String, Vec<String>>, DeriveError> {
    let t = insights_table(entity);
    let missing = |what: String, hint: &str| DeriveError::Missing {
        metric: "identity matching".into(),
        table: what,
        hint: hint.into(),
    };
    let Some(mut lf) = table(lake, &t)? else {
        return Err(missing(
            t.id(),
            "Ingest the Insights roster first, or link Insights on the AadUser object id.",
        ));
    };
    let names = lf.collect_schema()?;
    for c in [from, to] {
        if names.get(c).is_none() {
            return Err(missing(
                format!("{} with a {c} column", t.id()),
                "This lake keeps that column masked (ingested by an older edlake): link Insights \
                 on another id, or re-ingest Insights into a new lake.",
            ));
        }
    }
    let df = lf
        .select([col(from).alias("a"), col(to).alias("b")])
        .filter(col("a").is_not_null().and(col("b").is_not_null()))
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (a, b) in text_values(&df, "a")?
        .into_iter()
        .zip(text_values(&df, "b")?)
    {
        if let (Some(a), Some(b)) = (a, b) {
            out.entry(a).or_default().push(b);
        }
    }
    Ok(out)
}

/// Each source id with the values compared with the roster: the id itself, or for Insights the
/// ids reached from the activity's AadUser object id.
fn candidates(
    lake: &Lake,
    s: IdSource,
    config: &IdentityConfig,
    known: &SourceIds,
) -> Result<Vec<(String, Vec<String>)>, DeriveError> {
    let ids = match known.0.get(&s) {
        Some(ids) => ids.clone(),
        None => source_ids(lake, s)?,
    };
    if s != IdSource::Insights || config.insights_id == InsightsId::AadObjectId {
        return Ok(ids.into_iter().map(|i| (i.clone(), vec![i])).collect());
    }
    let via = match config.insights_id {
        InsightsId::AadStudentId => {
            pairs(lake, "AadUser", "ObjectId_pseudonym", "StudentId_pseudonym")?
        }
        _ => {
            let person = pairs(
                lake,
                "AadUserPersonMapping",
                "ObjectId_pseudonym",
                "PersonId_pseudonym",
            )?;
            let ident = pairs(
                lake,
                "PersonIdentifier",
                "PersonId_pseudonym",
                "Identifier_pseudonym",
            )?;
            person
                .into_iter()
                .map(|(o, ps)| {
                    let v = ps
                        .iter()
                        .flat_map(|p| ident.get(p).cloned().unwrap_or_default())
                        .collect();
                    (o, v)
                })
                .collect()
        }
    };
    Ok(ids
        .into_iter()
        .map(|i| {
            let c = via.get(&i).cloned().unwrap_or_default();
            (i, c)
        })
        .collect())
}

/// Rebuilds the identity map from the roster and every source, with `config`; `None` when the
/// lake has no roster yet. Records the build (rates) in the lake's identity history.
pub fn rebuild(lake: &Lake, config: &IdentityConfig) -> Result<Option<IdentityBuild>, DeriveError> {
    let _lock = lake.lock("rebuild the identity map")?;
    rebuild_with(lake, config, &SourceIds::default())
}

/// Every source's distinct student pseudonyms, read once for several rebuilds (a roster sync of
/// several snapshots changes the roster, not the sources).
#[derive(Debug, Default, Clone)]
pub struct SourceIds(HashMap<IdSource, Vec<String>>);

impl SourceIds {
    /// Reads them from the lake's general tables.
    pub fn read(lake: &Lake) -> Result<SourceIds, DeriveError> {
        let mut m = HashMap::new();
        for s in IdSource::ALL {
            m.insert(s, source_ids(lake, s)?);
        }
        Ok(SourceIds(m))
    }
}

/// [`rebuild`] with source ids read before.
pub fn rebuild_with(
    lake: &Lake,
    config: &IdentityConfig,
    known: &SourceIds,
) -> Result<Option<IdentityBuild>, DeriveError> {
    let _lock = lake.lock("rebuild the identity map")?;
    let Some(roster) = table(lake, &status_table())? else {
        return Ok(None);
    };
    let roster = roster
        .select([col("student"), col("student_number"), col("state_id")])
        .collect()?;
    let students = text_values(&roster, "student")?;
    let (mut src_col, mut src_id, mut person, mut how) = (vec![], vec![], vec![], vec![]);
    let mut rates = Vec::new();
    for s in IdSource::ALL {
        let key = config.key(s);
        // Roster value → the students carrying it (blank values never enter).
        let mut by_value: HashMap<String, Vec<&str>> = HashMap::new();
        for (v, st) in text_values(&roster, key.column())?.iter().zip(&students) {
            if let (Some(v), Some(st)) = (v, st) {
                let e = by_value.entry(v.clone()).or_default();
                if !e.contains(&st.as_str()) {
                    e.push(st);
                }
            }
        }
        let mut rate = MatchRate {
            source: s.name().into(),
            key: match s {
                IdSource::Insights if config.insights_id != InsightsId::AadObjectId => {
                    format!("{} via {}", key.name(), config.insights_id.name())
                }
                _ => key.name().into(),
            },
            ..Default::default()
        };
        for (id, values) in candidates(lake, s, config, known)? {
            rate.ids += 1;
            // Every roster student any of the id's values points to.
            let mut hits: Vec<&str> = values
                .iter()
                .flat_map(|v| by_value.get(v).cloned().unwrap_or_default())
                .collect();
            hits.sort_unstable();
            hits.dedup();
            let (p, m) = match hits.as_slice() {
                [] => {
                    rate.unmatched += 1;
                    if rate.unmatched_examples.len() < 5 {
                        rate.unmatched_examples.push(id.clone());
                    }
                    (None, "unmatched")
                }
                [one] => {
                    rate.matched += 1;
                    (Some(one.to_string()), "matched")
                }
                _ => {
                    rate.ambiguous += 1;
                    (None, "ambiguous")
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
    // An unchanged map keeps its version: the serving data then reads only new files.
    if !same_map(lake, &df)? {
        super::stage3::replace(lake, &map_table(), df)?;
    }
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
    crate::lake::jsonfile::append_line(&history_path(lake), &build)?;
    Ok(Some(build))
}

/// Whether the lake's identity map holds exactly the rows of `df` (in any order).
fn same_map(lake: &Lake, df: &DataFrame) -> Result<bool, DeriveError> {
    let Some(current) = table(lake, &map_table())? else {
        return Ok(false);
    };
    let sorted = |lf: LazyFrame| {
        lf.sort(
            ["source", "source_pseudonym"],
            SortMultipleOptions::default(),
        )
        .collect()
    };
    let (current, new) = (sorted(current)?, sorted(df.clone().lazy())?);
    Ok(current.schema() == new.schema() && current.equals_missing(&new))
}

/// Reads sources through the identity map: a matched id becomes its roster student's pseudonym,
/// other ids stay as they are (so a lake without a roster behaves as before).
#[derive(Default, Clone)]
pub struct Resolver {
    maps: HashMap<IdSource, DataFrame>,
}

impl Resolver {
    /// Loads the lake's identity map (empty when there is none).
    pub fn load(lake: &Lake) -> Result<Resolver, DeriveError> {
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
