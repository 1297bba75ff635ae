//! What the district chooses: which roster identifier each source's students carry, and for
//! Insights which of its ids is compared.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::derive::tables;
use crate::lake::{Lake, LakeError, TableRef};

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
    pub(super) fn column(self) -> &'static str {
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
    pub(super) fn inputs(self) -> Vec<(TableRef, &'static str, Option<Expr>)> {
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

/// Which Insights id is compared with the roster: the AadUser object id the activity carries,
/// the AadUser's student id, or the identifiers School Data Sync keeps per person
/// (PersonIdentifier, reached through AadUserPersonMapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InsightsId {
    #[default]
    AadObjectId,
    AadStudentId,
    PersonIdentifier,
}

impl InsightsId {
    pub const ALL: [InsightsId; 3] = [
        InsightsId::AadObjectId,
        InsightsId::AadStudentId,
        InsightsId::PersonIdentifier,
    ];

    /// The name users pick (`person_identifier`).
    pub fn name(self) -> &'static str {
        match self {
            InsightsId::AadObjectId => "aad_object_id",
            InsightsId::AadStudentId => "aad_student_id",
            InsightsId::PersonIdentifier => "person_identifier",
        }
    }

    /// Parses a name from [`InsightsId::name`].
    pub fn parse(s: &str) -> Option<InsightsId> {
        InsightsId::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// Which roster identifier each source carries (saved in the lake).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct IdentityConfig {
    pub clever: RosterKey,
    pub sis: RosterKey,
    pub insights: RosterKey,
    /// Which Insights id is compared with `insights`.
    pub insights_id: InsightsId,
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
        Ok(crate::lake::jsonfile::read(&Self::path(lake))?.unwrap_or_default())
    }

    /// Saves the configuration.
    pub fn save(&self, lake: &Lake) -> Result<(), LakeError> {
        let _lock = lake.lock("save the identity keys")?;
        crate::lake::jsonfile::write(&Self::path(lake), self)
    }
}
