//! Daily operations in the real app (egui_kittest): Home says when the next scheduled run is,
//! which sources are stale (the demo's data ends in September 2025) and which last run failed
//! with its reason, and "Run … now" runs that source; the Ingestion page shows the schedule.

use std::sync::Arc;

use crate::harness::*;
use edlake::app::schedule::{Operations, Schedule};
use edlake::pipeline::{RunReport, RunStatus};
use edlake::ui::Page;
use edlake::ui::dialogs::QueuedDialogs;
use egui_kittest::kittest::Queryable;

#[test]
fn home_shows_the_next_run_stale_sources_and_the_last_failure_and_runs_one_now() {
    let mut h = demo(Arc::new(QueuedDialogs::default()));
    let lake = view(h.state()).lake.clone();
    // A schedule (kept in the lake; the OS scheduler is not needed to show it) and a scheduled
    // run that could not read the salt.
    Operations {
        schedule: Some(Schedule::new("06:30", true, vec![]).expect("schedule")),
        ..Operations::default()
    }
    .save(&lake)
    .expect("save");
    let mut failed = RunReport::start("run");
    failed.status = RunStatus::Failed("the lake's salt could not be read".into());
    failed.save(&lake).expect("history");
    click(&mut h, "Refresh");
    wait(&mut h, "the overview", |a| {
        view(a).home.overview.done().is_some()
    });
    h.run_steps(3);

    wait_label(&mut h, "Next scheduled run:");
    h.get_by_label("Change the schedule…");
    // Every source: the failed run with its reason; Clever also stale, with its newest day.
    let clever = h
        .query_all_by_label_contains("Clever participation reports needs attention:")
        .next()
        .map(|n| all_text(&n))
        .expect("a warning for clever");
    assert!(
        clever.contains("the last run failed: the lake's salt could not be read"),
        "{clever}"
    );
    assert!(
        clever.contains("school days old (newest day 2025-09-15"),
        "{clever}"
    );
    // The demo's own ingest of Clever is its last success.
    assert!(clever.contains("; last successful run 20"), "{clever}");

    // Run it now: the failure goes (the source ran since), the staleness stays.
    click(&mut h, "Run clever now");
    assert_eq!(h.state().saved.page, Page::Ingest);
    wait(&mut h, "the run", |a| !view(a).ingest.job.is_running());
    click(&mut h, "Home");
    wait(&mut h, "the overview", |a| {
        view(a).home.overview.done().is_some()
    });
    h.run_steps(3);
    let clever = h
        .query_all_by_label_contains("Clever participation reports needs attention:")
        .next()
        .map(|n| all_text(&n))
        .expect("clever is still stale");
    assert!(!clever.contains("failed"), "{clever}");
    assert!(clever.contains("newest day 2025-09-15"), "{clever}");
    // SIS did not run: still failed.
    let sis = h
        .query_all_by_label_contains("SIS attendance and students needs attention:")
        .next()
        .map(|n| all_text(&n))
        .expect("sis");
    assert!(sis.contains("the last run failed"), "{sis}");

    // The Ingestion page shows the schedule and its next run.
    click(&mut h, "Ingestion");
    wait_label(
        &mut h,
        "Runs every source, every school day (Monday to Friday) at 06:30.",
    );
    h.get_by_label("Remove schedule");
}
