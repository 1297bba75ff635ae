//! Site mapping: SIS, Clever and Insights each identify schools their own way (an SIS school id
//! such as `sch0`, a Clever `school_name` such as "Mitchell High School", an Insights
//! Organization named "Mitchell High"). The lake's mapping (`_edlake/sites.json`, edited in
//! the app under More → Schools) gives each of them the one name every chart shows, so a real
//! school is one row, never a raw id. Clever and Insights schools are keyed by the name their
//! source gives (Clever's files give one school many ids), SIS schools by their id.
//!
//! The mapping is applied where the general tables are read for the charts ([`super::table`]
//! and the serving build), never to the stored tables: changing it changes no data, and the
//! chart data records it, so a change rebuilds the charts' numbers.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::{DeriveError, tables};
use crate::lake::{Lake, LakeError, TableRef, jsonfile, scan};

/// The system a school identity comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteSource {
    Sis,
    Clever,
    Insights,
}

impl SiteSource {
    /// The source's name as the app shows it.
    pub fn title(self) -> &'static str {
        match self {
            SiteSource::Sis => "SIS",
            SiteSource::Clever => "Clever",
            SiteSource::Insights => "Insights",
        }
    }
}

/// One mapped school identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub source: SiteSource,
    /// The school's name in its source (Clever, Insights) or its id (SIS).
    pub key: String,
    /// The name every chart shows.
    pub school: String,
}

/// The lake's site mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteMap {
    pub sites: Vec<Site>,
}

impl SiteMap {
    fn path(lake: &Lake) -> std::path::PathBuf {
        lake.meta_dir().join("sites.json")
    }

    /// The lake's mapping (empty when none was saved).
    pub fn load(lake: &Lake) -> Result<Self, LakeError> {
        Ok(jsonfile::read(&Self::path(lake))?.unwrap_or_default())
    }

    /// Saves the mapping under the lake lock (one atomic file). Blank names are dropped: a
    /// school mapped to nothing keeps its own name.
    pub fn save(&self, lake: &Lake) -> Result<(), LakeError> {
        let _lock = lake.lock("save the school mapping")?;
        let mut clean = SiteMap::default();
        for s in &self.sites {
            let school = s.school.trim();
            if !school.is_empty()
                && !clean
                    .sites
                    .iter()
                    .any(|c| c.source == s.source && c.key == s.key)
            {
                clean.sites.push(Site {
                    school: school.to_string(),
                    ..s.clone()
                });
            }
        }
        jsonfile::write(&Self::path(lake), &clean)
    }

    /// The name mapped for `key` of `source`.
    pub fn get(&self, source: SiteSource, key: &str) -> Option<&str> {
        self.sites
            .iter()
            .find(|s| s.source == source && s.key == key)
            .map(|s| s.school.as_str())
    }

    /// Sets (or, with a blank name, removes) the mapping of `key`.
    pub fn set(&mut self, source: SiteSource, key: &str, school: &str) {
        self.sites.retain(|s| !(s.source == source && s.key == key));
        if !school.trim().is_empty() {
            self.sites.push(Site {
                source,
                key: key.to_string(),
                school: school.trim().to_string(),
            });
        }
    }

    /// A text that changes whenever the mapping does (the chart data records it).
    pub fn fingerprint(&self) -> String {
        let mut v: Vec<String> = self
            .sites
            .iter()
            .map(|s| format!("{}:{}={}", s.source.title(), s.key, s.school))
            .collect();
        v.sort();
        v.join("|")
    }

    /// `column` with the names mapped for `source` put in (other values unchanged).
    fn rename(&self, source: SiteSource, column: &str) -> Option<Expr> {
        let mine: Vec<&Site> = self.sites.iter().filter(|s| s.source == source).collect();
        if mine.is_empty() {
            return None;
        }
        let e = mine.iter().rev().fold(col(column), |rest, s| {
            when(col(column).eq(lit(s.key.clone())))
                .then(lit(s.school.clone()))
                .otherwise(rest)
        });
        Some(e.alias(column))
    }

    /// Table `t` as the charts read it: Clever's `school_name` and Insights Organization's
    /// `Name` as mapped. Other tables are returned as they are.
    pub fn apply(&self, t: &TableRef, lf: LazyFrame) -> LazyFrame {
        let e = if *t == tables::clever_dp() || *t == tables::clever_ru() {
            self.rename(SiteSource::Clever, "school_name")
        } else if *t == tables::organization() {
            self.rename(SiteSource::Insights, "Name")
        } else {
            None
        };
        match e {
            Some(e) => lf.with_column(e),
            None => lf,
        }
    }

    /// SIS school id → mapped name.
    pub fn sis_names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sites
            .iter()
            .filter(|s| s.source == SiteSource::Sis)
            .map(|s| (s.key.as_str(), s.school.as_str()))
    }
}

/// One school identity found in the lake, as the schools page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRow {
    pub source: SiteSource,
    /// Name in the source (Clever, Insights) or id (SIS).
    pub key: String,
    /// What the charts show now (the mapping, else the source's name, else for an SIS id the
    /// name Insights or Clever give the same id, else the id itself).
    pub shown: String,
    /// Whether a mapping is saved for it.
    pub mapped: bool,
    /// Whether the charts would show a raw id (an SIS id nobody names).
    pub unnamed: bool,
    /// A name proposed by matching ids or names, when it differs from `shown`.
    pub suggestion: Option<String>,
}

/// Distinct non-null values of `cols` in table `t` (raw, unmapped).
fn distinct(lake: &Lake, t: &TableRef, cols_: &[&str]) -> Result<Vec<Vec<String>>, DeriveError> {
    let dir = lake.table_dir(t);
    let Some(st) = crate::lake::delta::read_state(&dir)? else {
        return Ok(Vec::new());
    };
    let lf = scan::lazy(&dir, &st)?;
    let have = lf.clone().collect_schema()?;
    let exprs: Vec<Expr> = cols_
        .iter()
        .map(|c| match have.contains(c) {
            true => col(*c).cast(DataType::String),
            false => lit(NULL).cast(DataType::String).alias(*c),
        })
        .collect();
    let df = lf
        .select(exprs)
        .filter(col(cols_[0]).is_not_null())
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?;
    let cols: Vec<Vec<Option<String>>> = cols_
        .iter()
        .map(|c| super::text_values(&df, c))
        .collect::<PolarsResult<_>>()?;
    Ok((0..df.height())
        .map(|i| {
            cols.iter()
                .map(|c| c[i].clone().unwrap_or_default())
                .collect()
        })
        .collect())
}

/// A school name reduced for matching: lower case, words only, common abbreviations spelt
/// out, filler words ("school", "the") dropped. "Mitchell H.S." and "Mitchell High School"
/// both become "mitchell high".
pub fn match_key(name: &str) -> String {
    name.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "hs" | "h" => "high",
            "ms" => "middle",
            "es" | "elem" => "elementary",
            "acad" => "academy",
            "ctr" => "center",
            w => w,
        })
        .filter(|w| !matches!(*w, "school" | "the" | "of" | "sch" | "s"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every school identity in the lake with what the charts show for it and a suggestion.
pub fn discover(lake: &Lake) -> Result<Vec<SiteRow>, DeriveError> {
    let map = SiteMap::load(lake)?;
    let orgs = distinct(
        lake,
        &tables::organization(),
        &["Id", "Name", "ExternalId", "Identifier"],
    )?;
    let mut clever: BTreeSet<String> = BTreeSet::new();
    let mut clever_ids: BTreeMap<String, String> = BTreeMap::new();
    for t in [tables::clever_dp(), tables::clever_ru()] {
        for r in distinct(lake, &t, &["school_name", "clever_school_id"])? {
            clever_ids
                .entry(r[1].clone())
                .or_insert_with(|| r[0].clone());
            clever.insert(r[0].clone());
        }
    }
    let mut sis: BTreeSet<String> = BTreeSet::new();
    for r in distinct(lake, &tables::attendance(), &["school_id"])? {
        sis.insert(r[0].clone());
    }
    let named = |source: SiteSource, key: &str| map.get(source, key).unwrap_or(key).to_string();
    // Insights names are Microsoft's official organization names: a Clever school whose name
    // matches one is proposed under it.
    let mut by_key: BTreeMap<String, String> = BTreeMap::new();
    for o in &orgs {
        if !o[1].is_empty() {
            by_key
                .entry(match_key(&o[1]))
                .or_insert_with(|| named(SiteSource::Insights, &o[1]));
        }
    }
    let mut rows = Vec::new();
    let names: BTreeSet<&String> = orgs
        .iter()
        .map(|o| &o[1])
        .filter(|n| !n.is_empty())
        .collect();
    for n in names {
        rows.push(row(&map, SiteSource::Insights, n, n.clone(), None));
    }
    for n in &clever {
        let suggestion = by_key.get(&match_key(n)).cloned();
        rows.push(row(&map, SiteSource::Clever, n, n.clone(), suggestion));
    }
    for id in &sis {
        // As the charts name an SIS id today: an Insights organization or a Clever school
        // with that very id.
        let by_id = orgs
            .iter()
            .find(|o| o[0] == *id && !o[1].is_empty())
            .map(|o| named(SiteSource::Insights, &o[1]))
            .or_else(|| clever_ids.get(id).map(|n| named(SiteSource::Clever, n)));
        // An organization whose external id or identifier is the SIS id.
        let suggestion = orgs
            .iter()
            .find(|o| (o[2] == *id || o[3] == *id) && !o[1].is_empty())
            .map(|o| named(SiteSource::Insights, &o[1]));
        let mut r = row(
            &map,
            SiteSource::Sis,
            id,
            by_id.clone().unwrap_or_else(|| id.clone()),
            suggestion,
        );
        r.unnamed = !r.mapped && by_id.is_none();
        rows.push(r);
    }
    Ok(rows)
}

fn row(
    map: &SiteMap,
    source: SiteSource,
    key: &str,
    own: String,
    suggestion: Option<String>,
) -> SiteRow {
    let mapped = map.get(source, key);
    let shown = mapped.map_or(own, str::to_string);
    SiteRow {
        source,
        key: key.to_string(),
        suggestion: suggestion.filter(|s| *s != shown),
        shown,
        mapped: mapped.is_some(),
        unnamed: false,
    }
}
