//! Clever views beyond the first charts: apps used per day and each app's share of use (the
//! report's treemap as a ranking of shares that sum to 100 %). Each is computed by a direct
//! query over the general tables (the test oracle) and from the serving data, through the same
//! final step.

use polars::prelude::*;

use super::queries::{clever_students, filtered, of_app, resource_rows};
use super::{Filter, MetricError, effective_min_group, tables};
use crate::derive::serving::Serving;
use crate::lake::Lake;

/// Per day: the apps (resources) students used and their accesses, from rows with `date`,
/// `resource_name` and `accesses`.
fn apps_per_day(lf: LazyFrame) -> LazyFrame {
    lf.group_by([col("date")])
        .agg([
            col("resource_name")
                .drop_nulls()
                .n_unique()
                .cast(DataType::Int64)
                .alias("apps"),
            col("accesses")
                .sum()
                .cast(DataType::Int64)
                .alias("accesses"),
        ])
        .sort(["date"], SortMultipleOptions::default())
}

/// Direct: apps used and accesses per day.
pub fn apps_daily(lake: &Lake, f: &Filter) -> Result<DataFrame, MetricError> {
    let lf = filtered(
        clever_students(lake, &tables::clever_ru(), "clever-apps-daily", f)?,
        f,
        Some("school_name"),
    )
    .with_column(col("num_access").alias("accesses"));
    let lf = of_app(lf, f, "resource_name");
    Ok(apps_per_day(lf).collect()?)
}

/// Served: [`apps_daily`] from the per-day resource accesses.
pub fn apps_daily_served(s: &Serving, f: &Filter) -> Result<Option<DataFrame>, MetricError> {
    let Some(acc) = super::served_clever::clever_sums(s, f, "resource_accesses")? else {
        return Ok(None);
    };
    Ok(Some(
        apps_per_day(of_app(filtered(acc, f, Some("school")), f, "resource_name")).collect()?,
    ))
}

/// Each app's share of all accesses (%), most used first. Apps fewer than the smallest group
/// of students used are folded into one "other apps" row (their students not shown), so the
/// shares still sum to 100 % and no small group is singled out.
pub fn share_of_use(
    rows: DataFrame,
    min_group: u32,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let k = i64::from(effective_min_group(min_group));
    let total = rows
        .column("accesses")?
        .cast(&DataType::Int64)?
        .i64()?
        .sum()
        .unwrap_or(0);
    let small = col("students").lt(lit(k)).and(col("students").gt(lit(0)));
    let lf = rows
        .lazy()
        .with_column(col("students").cast(DataType::Int64));
    let big = lf.clone().filter(small.clone().not());
    let folded = lf
        .filter(small)
        .select([
            col("resource_name").count().alias("n"),
            col("accesses")
                .sum()
                .cast(DataType::Int64)
                .alias("accesses"),
        ])
        .collect()?;
    let n_small = folded
        .column("n")?
        .cast(&DataType::Int64)?
        .i64()?
        .get(0)
        .unwrap_or(0);
    // Most used first, ties by name; the folded row last.
    let mut parts = vec![
        big.select([
            col("resource_name"),
            col("students"),
            col("accesses").cast(DataType::Int64),
        ])
        .sort(
            ["accesses", "resource_name"],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        ),
    ];
    if n_small > 0 {
        notes.push(format!(
            "{n_small} app(s) used by fewer than {k} students shown together as \"other apps\""
        ));
        let other = folded.column("accesses")?.i64()?.get(0).unwrap_or(0);
        parts.push(
            df!(
                "resource_name" => [format!("other apps ({n_small})")],
                "students" => [None::<i64>],
                "accesses" => [other],
            )?
            .lazy(),
        );
    }
    let share = match total {
        0 => lit(NULL).cast(DataType::Float64),
        t => col("accesses").cast(DataType::Float64) * lit(100.0 / t as f64),
    };
    Ok(concat(parts, UnionArgs::default())?
        .with_column(share.alias("share"))
        .collect()?)
}

/// Direct: [`share_of_use`] of the resource rows.
pub fn app_share(
    lake: &Lake,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<DataFrame, MetricError> {
    let rows = resource_rows(lake, f, "resource_name", "clever-app-share")?;
    share_of_use(rows, f.min_group, notes)
}

/// Served: [`share_of_use`] of the served resource rows.
pub fn app_share_served(
    s: &Serving,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<Option<DataFrame>, MetricError> {
    match super::served_clever::resources(s, f, "resource_name", "resource_names")? {
        Some(rows) => Ok(Some(share_of_use(rows, f.min_group, notes)?)),
        None => Ok(None),
    }
}

/// Served: the Clever views by name; `None` when the build cannot answer.
pub fn served(
    s: &Serving,
    name: &str,
    f: &Filter,
    notes: &mut Vec<String>,
) -> Result<Option<DataFrame>, MetricError> {
    match name {
        "clever-app-share" => app_share_served(s, f, notes),
        "clever-apps-daily" => apps_daily_served(s, f),
        _ => Ok(None),
    }
}
