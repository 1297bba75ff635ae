//! What the app remembers between launches (saved through eframe's storage), kept apart from
//! runtime state: the page, theme, chart filters, source folders and the wizard's step.

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
        }
    }
}

impl ChartFilter {
    /// The library filter, or what is wrong with the typed dates.
    pub fn to_filter(&self) -> Result<Filter, String> {
        let date = |s: &str, what: &str| -> Result<Option<chrono::NaiveDate>, String> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| format!("{what} date `{s}` is not a date like 2025-09-01"))
        };
        Ok(Filter {
            from: date(&self.from, "From")?,
            to: date(&self.to, "To")?,
            school: self.school.clone(),
            min_group: crate::metrics::effective_min_group(self.min_group),
            threshold: f64::from(self.threshold_pct) / 100.0,
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
    /// Source folders by source name (`clever`, `insights`, `sis`).
    pub folders: BTreeMap<String, PathBuf>,
    /// The wizard step to resume at.
    pub wizard_step: super::wizard::Step,
    /// Clever comes from the saved SFTP source instead of a folder.
    pub clever_sftp: bool,
    /// Insights comes from the saved storage-account share instead of a folder.
    pub insights_azure: bool,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            dark: false,
            page: Page::Home,
            chart: "daily-active".into(),
            filter: ChartFilter::default(),
            folders: BTreeMap::new(),
            wizard_step: super::wizard::Step::Lake,
            clever_sftp: false,
            insights_azure: false,
        }
    }
}
