//! Which SIS attendance rows count as present in person. Districts' SIS exports fill
//! `PresenceFlag` or only `AttendanceCode` (P, T, A, …): a row with a flag is present when the
//! flag says so; a row without one is present when its code is one of the lake's present codes
//! (default `P`; `edlake stage3 --present-codes P,T` changes them). The serving data records
//! the codes it was built with, so changing them rebuilds the charts' numbers.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::lake::{Lake, LakeError, jsonfile};

/// The AttendanceCode values that mean present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentCodes {
    pub codes: Vec<String>,
}

impl Default for PresentCodes {
    fn default() -> Self {
        PresentCodes {
            codes: vec!["P".into()],
        }
    }
}

/// Why a list of present codes was refused.
#[derive(Debug, thiserror::Error)]
#[error("give at least one attendance code that means present (like P or P,T)")]
pub struct NoCodes;

impl PresentCodes {
    /// Codes as typed: trimmed, upper-cased, without blanks or repeats; at least one.
    pub fn new(codes: Vec<String>) -> Result<Self, NoCodes> {
        let mut out: Vec<String> = Vec::new();
        for c in codes {
            let c = c.trim().to_uppercase();
            if !c.is_empty() && !out.contains(&c) {
                out.push(c);
            }
        }
        if out.is_empty() {
            return Err(NoCodes);
        }
        Ok(PresentCodes { codes: out })
    }

    fn path(lake: &Lake) -> std::path::PathBuf {
        lake.meta_dir().join("attendance.json")
    }

    /// The lake's codes (the default when none were saved).
    pub fn load(lake: &Lake) -> Result<Self, LakeError> {
        Ok(jsonfile::read(&Self::path(lake))?.unwrap_or_default())
    }

    /// Saves them (one atomic file).
    pub fn save(&self, lake: &Lake) -> Result<(), LakeError> {
        jsonfile::write(&Self::path(lake), self)
    }

    /// Whether an attendance row is present: its `PresenceFlag` when it has one, else whether
    /// its `AttendanceCode` (trimmed, any case) is one of the codes. Never null.
    pub fn present(&self) -> Expr {
        let code = col("AttendanceCode")
            .cast(DataType::String)
            .str()
            .strip_chars(lit(NULL))
            .str()
            .to_uppercase();
        let by_code = self
            .codes
            .iter()
            .fold(lit(false), |acc, c| acc.or(code.clone().eq(lit(c.clone()))))
            .fill_null(lit(false));
        when(col("PresenceFlag").is_not_null())
            .then(col("PresenceFlag"))
            .otherwise(by_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_and_codes_count_where_it_is_blank() {
        let df = df!(
            "PresenceFlag" => [Some(true), Some(false), None, None, None, None],
            "AttendanceCode" => [Some("A"), Some("P"), Some("P"), Some(" t "), Some("A"), None],
        )
        .expect("frame");
        let codes = PresentCodes::new(vec!["p".into(), "T".into(), "".into()]).expect("codes");
        assert_eq!(codes.codes, ["P", "T"]);
        let got: Vec<Option<bool>> = df
            .lazy()
            .select([codes.present().alias("present")])
            .collect()
            .expect("present")
            .column("present")
            .expect("column")
            .bool()
            .expect("bools")
            .iter()
            .collect();
        assert_eq!(
            got,
            [
                Some(true),
                Some(false),
                Some(true),
                Some(true),
                Some(false),
                Some(false)
            ]
        );
        assert!(PresentCodes::new(vec![" ".into()]).is_err());
    }
}
