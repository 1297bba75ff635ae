//! What the app remembers between launches (saved through eframe's storage), kept apart from
//! runtime state: per-user view state only — the page, theme and chart filters. Everything that
//! says how the lake runs (its sources, their folders and servers) lives in the lake, so the CLI
//! and a scheduled run see the same setup.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::metrics::Filter;

/// The pages of an open lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Page {
    #[default]
    Home,
    Setup,
    Ingest,
    Tables,
    Charts,
    /// Custom sources, Clever rosters with identity matching, edX MicroMasters.
    More,
}

impl Page {
    /// Every page, in tab order.
    pub const ALL: [Page; 6] = [
        Page::Home,
        Page::Setup,
        Page::Ingest,
        Page::Tables,
        Page::Charts,
        Page::More,
    ];

    /// Tab label.
    pub fn title(self) -> &'static str {
        match self {
            Page::Home => "Home",
            Page::Setup => "Setup",
            Page::Ingest => "Ingestion",
            Page::Tables => "Tables",
            Page::Charts => "Charts",
            Page::More => "More sources",
        }
    }
}

/// Chart filters remembered between launches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChartFilter {
    pub from: String,
    pub to: String,
    pub school: Option<String>,
    pub min_group: u32,
    pub threshold_pct: u32,
    /// Whether a second period or school is drawn beside the first ("this term vs last").
    pub compare: bool,
    pub from2: String,
    pub to2: String,
    pub school2: Option<String>,
    /// Only this grade, or this Clever app, on the charts that take them (shared by both
    /// sides of a comparison).
    pub grade: Option<String>,
    pub app: Option<String>,
    /// Only this class (section), on the Insights and the in-person and digital charts.
    pub class: Option<String>,
}

impl Default for ChartFilter {
    /// The library's defaults (smallest group, attendance threshold), as the form shows them.
    fn default() -> Self {
        let f = Filter::default();
        ChartFilter {
            from: String::new(),
            to: String::new(),
            school: f.school,
            min_group: f.min_group,
            threshold_pct: (f.threshold * 100.0).round() as u32,
            compare: false,
            from2: String::new(),
            to2: String::new(),
            school2: None,
            grade: None,
            app: None,
            class: None,
        }
    }
}

impl ChartFilter {
    /// The filter of the compared side (its dates and school, the rest shared), when
    /// comparing.
    pub fn second(&self) -> Option<ChartFilter> {
        self.compare.then(|| ChartFilter {
            from: self.from2.clone(),
            to: self.to2.clone(),
            school: self.school2.clone(),
            compare: false,
            ..self.clone()
        })
    }

    /// Its dates and school in words: "2025-08-25 to 2025-09-05, Mitchell High", and the grade
    /// and app where `chart` takes them.
    pub fn describe(&self, chart: &str) -> String {
        let dates = match (self.from.trim(), self.to.trim()) {
            ("", "") => "all dates".to_string(),
            (f, "") => format!("from {f}"),
            ("", t) => format!("up to {t}"),
            (f, t) => format!("{f} to {t}"),
        };
        let school = self.school.as_deref().unwrap_or("all schools");
        let mut out = format!("{dates}, {school}");
        use crate::metrics::{Narrow, applies};
        if let Some(g) = self
            .grade
            .as_ref()
            .filter(|_| applies(chart, Narrow::Grade))
        {
            out.push_str(&format!(", grade {g}"));
        }
        if let Some(a) = self.app.as_ref().filter(|_| applies(chart, Narrow::App)) {
            out.push_str(&format!(", {a}"));
        }
        if let Some(c) = self
            .class
            .as_ref()
            .filter(|_| applies(chart, Narrow::Class))
        {
            out.push_str(&format!(", class {c}"));
        }
        out
    }

    /// The library filter, or what is wrong with the typed dates.
    pub fn to_filter(&self) -> anyhow::Result<Filter> {
        let date = |s: &str, what: &str| -> anyhow::Result<Option<chrono::NaiveDate>> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| anyhow::anyhow!("{what} date `{s}` is not a date like 2025-09-01"))
        };
        Ok(Filter {
            from: date(&self.from, "From")?,
            to: date(&self.to, "To")?,
            school: self.school.clone(),
            min_group: crate::metrics::effective_min_group(self.min_group),
            threshold: f64::from(self.threshold_pct) / 100.0,
            grade: self.grade.clone(),
            app: self.app.clone(),
            class: self.class.clone(),
        })
    }
}

/// What the app remembers between launches (the lake path itself is in the shared
/// [`crate::settings::Settings`], so the CLI uses the same lake).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UiSettings {
    pub dark: bool,
    pub page: Page,
    pub chart: String,
    pub filter: ChartFilter,
    /// Source folders that versions before 0.6 kept here, by source name; moved into the lake
    /// the first time a lake is opened ([`Self::legacy_sources`]), never written again.
    #[serde(rename = "folders", skip_serializing)]
    pub legacy_folders: BTreeMap<String, PathBuf>,
    /// Those versions' "Clever from its SFTP server" and "Insights from the storage account".
    #[serde(rename = "clever_sftp", skip_serializing)]
    pub legacy_clever_sftp: bool,
    #[serde(rename = "insights_azure", skip_serializing)]
    pub legacy_insights_azure: bool,
}

impl UiSettings {
    /// The folder sources older versions kept per user, as the lake's sources (by module),
    /// skipping those whose module then came from a server.
    pub fn legacy_sources(&self) -> Vec<(String, PathBuf)> {
        self.legacy_folders
            .iter()
            .filter_map(|(key, path)| {
                let module = match key.as_str() {
                    "clever" if self.legacy_clever_sftp => return None,
                    "insights" if self.legacy_insights_azure => return None,
                    "clever_roster" => "roster",
                    "clever" | "insights" | "sis" | "edx" => key.as_str(),
                    _ => return None,
                };
                Some((module.to_string(), path.clone()))
            })
            .collect()
    }
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            dark: false,
            page: Page::Home,
            chart: "daily-active".into(),
            filter: ChartFilter::default(),
            legacy_folders: BTreeMap::new(),
            legacy_clever_sftp: false,
            legacy_insights_azure: false,
        }
    }
}
