//! The real desktop app driven through egui_kittest: the demo flow end to end, previews that show
//! only pseudonyms, every chart with data, cancel at every stage of an ingestion, keyboard, small
//! window and both themes (setup: `setup.rs`; restricted tables and the audit log:
//! `privacy.rs`).

use crate::common;

use crate::harness::*;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use edlake::lake::{Layer, TableRef};
use edlake::metrics::METRICS;
use edlake::pipeline::{HOLD_AT, RunStatus, Stage};
use edlake::ui::dialogs::QueuedDialogs;
use edlake::ui::task::TaskState;
use edlake::ui::{App, Page};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

#[test]
fn demo_opens_and_previews_only_pseudonyms() {
    let mut h = demo(Arc::new(QueuedDialogs::default()));
    h.get_by_label("School days with data");
    h.get_by_label("Clever participation reports");
    assert!(view(h.state()).is_demo);

    h.get_by_label("Tables").click();
    wait(&mut h, "the tables page", |a| a.saved.page == Page::Tables);
    wait_label(&mut h, "clever/daily_participation");
    // Refined general is open in the tree (Ingested starts folded).
    h.get_all_by_label_contains("clever/daily_participation")
        .next()
        .expect("the general table (the tree's first open layer)")
        .click();
    wait(&mut h, "the first page of rows", |a| {
        view(a).tables.first_page_ms.is_some()
    });
    let v = view(h.state());
    assert_eq!(
        v.tables.selected,
        Some(TableRef::new(
            Layer::General,
            "clever",
            "v1.0",
            "daily_participation"
        ))
    );
    assert!(v.tables.total_rows.unwrap_or(0) > 1000);
    debug_shot(&mut h, "preview");
    let labels = all_labels(&h);
    let hashes = labels
        .iter()
        .filter(|l| l.len() == 64 && l.chars().all(|c| c.is_ascii_hexdigit()))
        .count();
    assert!(
        hashes >= 10,
        "pseudonym cells on screen: {hashes}; {labels:?}"
    );
    let ids = raw_ids();
    for l in &labels {
        assert!(
            !ids.iter().any(|id| l.contains(id.as_str())),
            "a raw student id is on screen"
        );
    }
    // The schema panel (drawn before the grid) lists the column as a link to its statistics.
    h.get_all_by_label("sis_id_pseudonym")
        .next()
        .expect("schema entry")
        .click();
    wait(&mut h, "column statistics", |a| {
        view(a).tables.stats_ready()
    });
    h.get_by_label_contains("distinct");
}

#[test]
fn every_chart_renders_with_data() {
    let mut h = demo(Arc::new(QueuedDialogs::default()));
    click(&mut h, "Charts");
    for m in METRICS {
        click(&mut h, m.title);
        wait(&mut h, m.name, |a| {
            let c = &view(a).charts.current;
            c.done().is_some_and(|c| c.output.name == m.name)
                || matches!(c.state, TaskState::Failed(_))
        });
        if let TaskState::Failed(e) = &view(h.state()).charts.current.state {
            panic!("{}: {e}", m.name);
        }
        debug_shot(&mut h, m.name);
        let c = view(h.state()).charts.current.done().expect("computed");
        assert!(c.output.frame.height() > 0, "{} has no rows", m.name);
        assert!(!c.charts.is_empty(), "{} draws nothing", m.name);
        let specs: Vec<_> = c.charts.iter().map(|(_, s)| s.clone()).collect();
        h.run_steps(2);
        for spec in &specs {
            // A ranking writes every item's name and value on its bar (one accessible label
            // lists them, as a screen reader reads the chart).
            if let edlake::metrics::chart::ChartSpec::Ranking { items, .. } = spec {
                // Whole numbers as they are, fractions under 10 (small shares) with a decimal.
                let num = |v: f64| match v.fract() != 0.0 && v.abs() < 10.0 {
                    true => format!("{v:.1}"),
                    false => format!("{v:.0}"),
                };
                let all: Vec<String> = items
                    .iter()
                    .map(|(n, v)| format!("{n} {}", num(*v)))
                    .collect();
                h.get_by_label(&all.join(", "));
            }
        }
    }
    // The demo's last week has one school day: the weekly chart says it is partial.
    click(&mut h, "Students per week by activity type");
    wait(&mut h, "weekly", |a| {
        view(a)
            .charts
            .current
            .done()
            .is_some_and(|c| c.output.name == "insights-weekly")
    });
    h.run_steps(2);
    debug_shot(&mut h, "weekly-partial");
    // Under both of its charts (students and events); the Labor Day week is complete.
    let notes: Vec<String> = h
        .query_all_by_label_contains("has data on fewer days than a full week")
        .map(|n| all_text(&n))
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes.iter().all(|n| n.contains("the week of Sep 15 has")),
        "{notes:?}"
    );
    // One tolerant image snapshot of a chart page, rendered on the CPU.
    click(&mut h, "Attendance by grade");
    wait(&mut h, "grade chart", |a| {
        view(a)
            .charts
            .current
            .done()
            .is_some_and(|c| c.output.name == "engagement-by-grade")
    });
    h.run_steps(4);
    h.snapshot_options(
        "chart_engagement_by_grade",
        &egui_kittest::SnapshotOptions::new()
            .threshold(2.0)
            .max_failed_pixels(4000),
    );
}

#[test]
fn chart_numbers_export_to_csv() {
    let out = tempfile::tempdir().expect("tmp");
    let csv = out.path().join("daily.csv");
    let dialogs = Arc::new(QueuedDialogs::new([csv.clone()]));
    let mut h = demo(dialogs);
    click(&mut h, "Charts");
    click(&mut h, "Active students and logins per day");
    wait(&mut h, "daily-active", |a| {
        view(a)
            .charts
            .current
            .done()
            .is_some_and(|c| c.output.name == "daily-active")
    });
    click(&mut h, "Export CSV…");
    let text = std::fs::read_to_string(&csv).expect("exported csv");
    assert!(text.starts_with("date,school,"), "{text:.80}");
    assert!(text.lines().count() > 10);
}

fn small_clever(dir: &Path) -> PathBuf {
    let opts = edlake::generate::GenOptions {
        students: 300,
        days: 8,
        seed: 7,
        participation_only: true,
        ..Default::default()
    };
    edlake::generate::generate(dir, &opts).expect("generate");
    dir.join("clever")
}

/// Clicks "Run clever" with the job held at `stage` (the pipeline's test hook), clicks Cancel
/// once the page shows that stage, and waits for the run to stop.
fn cancel_at(h: &mut Harness<'static, App>, lake: &edlake::lake::Lake, stage: Stage) {
    *HOLD_AT.lock().unwrap() = Some((lake.root().to_path_buf(), stage));
    click(h, "Run clever");
    wait(h, stage.name(), |a| {
        let job = &view(a).ingest.job;
        !job.is_running() || job.progress.stages.iter().any(|(s, _)| *s == stage)
    });
    assert!(
        view(h.state()).ingest.job.is_running(),
        "{stage:?}: not running"
    );
    h.get_by_label("Cancel").click();
    wait(h, "the run to stop", |a| !view(a).ingest.job.is_running());
    *HOLD_AT.lock().unwrap() = None;
}

#[test]
fn cancel_at_every_stage_leaves_the_lake_readable_and_the_next_run_finishes() {
    let data = tempfile::tempdir().expect("tmp");
    let clever = small_clever(data.path());
    let dialogs = Arc::new(QueuedDialogs::new([clever.clone()]));
    let mut h = demo(dialogs);
    let lake = view(h.state()).lake.clone();
    let t = TableRef::new(Layer::General, "clever", "v1.0", "daily_participation");
    let demo_rows = lake.table_state(&t).expect("state").rows();
    assert!(!lake.derived_stale());

    choose_clever_folder(&mut h);
    for stage in [Stage::Land, Stage::Ingest, Stage::Refine, Stage::Derive] {
        let before = lake.table_state(&t).expect("state");
        cancel_at(&mut h, &lake, stage);
        match &view(h.state()).ingest.job.state {
            TaskState::Failed(e) => assert!(e.contains("cancelled"), "{stage:?}: {e}"),
            TaskState::Done(_) => panic!("{stage:?}: the run finished before the cancel"),
            _ => panic!("{stage:?}: unexpected state"),
        }
        let runs = edlake::pipeline::RunReport::history(&lake).expect("history");
        let last = runs.iter().max_by_key(|r| r.started).expect("a run");
        assert_eq!(last.status, RunStatus::Cancelled, "{stage:?}");
        // Every table still reads; before any commit of this run nothing changed.
        let after = lake.table_state(&t).expect("still readable");
        if matches!(stage, Stage::Land | Stage::Ingest) {
            assert_eq!(after.version, before.version, "{stage:?}");
            assert_eq!(after.rows(), before.rows(), "{stage:?}");
        }
        for table in lake.tables() {
            lake.table_state(&table).expect("every table reads");
        }
        // The derived tables are out of date until a run rebuilds them.
        assert!(lake.derived_stale(), "{stage:?}");
    }

    // The next run finishes the work: every generated row once, the derived tables current.
    click(&mut h, "Run clever");
    // The run is followed whatever page is open: its end is announced on the Tables page.
    click(&mut h, "Tables");
    wait(&mut h, "the last run", |a| !view(a).ingest.job.is_running());
    wait_label(&mut h, "Ingestion finished");
    if let TaskState::Failed(e) = &view(h.state()).ingest.job.state {
        panic!("{e}");
    }
    assert!(!lake.derived_stale());
    let generated = common::cli::csv_rows(&clever.join("daily-participation"));
    assert!(generated > 0);
    assert_eq!(
        lake.table_state(&t).expect("state").rows(),
        demo_rows + generated
    );
}

/// The smallest supported window at 2x scale, driven from the keyboard: Ctrl+1..5 switch pages
/// and every page draws without error in both themes.
#[test]
fn keyboard_small_window_2x_scale_and_both_themes() {
    let opts = options(Arc::new(QueuedDialogs::default()));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1024.0, 700.0))
        .with_pixels_per_point(2.0)
        .build_eframe(move |cc| App::new(cc, opts));
    wait(&mut h, "the demo lake", is_open);
    let keys = [
        (egui::Key::Num1, Page::Home),
        (egui::Key::Num2, Page::Setup),
        (egui::Key::Num3, Page::Ingest),
        (egui::Key::Num4, Page::Tables),
        (egui::Key::Num5, Page::Charts),
    ];
    for dark in [false, true] {
        if dark {
            click(&mut h, "Dark theme");
            assert!(h.state().saved.dark);
        }
        for (k, page) in keys {
            h.key_press_modifiers(egui::Modifiers::COMMAND, k);
            h.run_steps(3);
            assert_eq!(h.state().saved.page, page);
        }
    }
    // Tab moves keyboard focus through the widgets of the page.
    h.key_press(egui::Key::Tab);
    h.run_steps(2);
    assert!(h.query_all_by(|n| n.is_focused()).next().is_some());
}

/// The first screen a district sees without a lake (image snapshot, rendered on the CPU).
#[test]
fn welcome_screen_snapshot() {
    let mut opts = options(Arc::new(QueuedDialogs::default()));
    opts.autostart_demo = false;
    let mut h = harness(opts);
    h.run_steps(4);
    h.get_by_label("Create a lake…");
    h.get_by_label("Open a lake…");
    h.get_by_label("Start the demo");
    h.snapshot_options(
        "welcome",
        &egui_kittest::SnapshotOptions::new()
            .threshold(2.0)
            .max_failed_pixels(2000),
    );
}

/// The demo lake's sources are the lake's own configuration: Setup and Ingestion show the
/// demo's folders, not "none chosen".
#[test]
fn the_demo_lake_shows_its_sources_in_setup() {
    let mut h = demo(Arc::new(QueuedDialogs::new([])));
    wait(&mut h, "the demo's sources", |a| {
        ["clever", "insights", "sis"]
            .iter()
            .all(|m| view(a).sources.runnable(m))
    });
    let clever = view(h.state())
        .sources
        .folder("clever")
        .cloned()
        .expect("clever");
    assert!(
        clever.join("daily-participation").is_dir(),
        "{}",
        clever.display()
    );
    click(&mut h, "Setup");
    click(&mut h, "2. Clever reports");
    wait_label(&mut h, "daily_participation:");
}

/// Appends `n` copies of a day file's first data rows with the date replaced by text that is no
/// date (`quote` when the file quotes its fields): rows the run must set aside.
fn add_undated_rows(folder: &Path, n: usize, quote: &str) {
    let day = std::fs::read_dir(folder)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .min()
        .expect("a day file");
    let text = std::fs::read_to_string(&day).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let date = 10 + 2 * quote.len();
    for i in 1..=n {
        let bad = format!("{quote}not-a-date{quote}{}", &lines[i][date..]);
        lines.push(bad);
    }
    std::fs::write(&day, lines.join("\n") + "\n").expect("write");
}

/// A run that quarantined rows says so in its status, and its link opens those rows: every
/// quarantine table's, filtered to the run (three daily-participation rows and two
/// resource-usage rows here), after the audited unlock.
#[test]
fn a_run_with_quarantined_rows_says_so_and_links_to_them() {
    let data = tempfile::tempdir().expect("tmp");
    // Both Clever reports (participation and resource usage), small.
    let opts = edlake::generate::GenOptions {
        students: 60,
        days: 3,
        seed: 7,
        ..Default::default()
    };
    edlake::generate::generate(data.path(), &opts).expect("generate");
    let clever = data.path().join("clever");
    add_undated_rows(&clever.join("daily-participation/Students"), 3, "");
    add_undated_rows(&clever.join("resource-usage/Students"), 2, "\"");

    let mut h = demo(Arc::new(QueuedDialogs::new([clever.clone()])));
    choose_clever_folder(&mut h);
    click(&mut h, "Run clever");
    wait(&mut h, "the run", |a| !view(a).ingest.job.is_running());
    wait_label(&mut h, "done, 5 rows quarantined");
    click(&mut h, "5 (open)");
    let tables = &view(h.state()).tables;
    let t = tables.selected.clone().expect("a table");
    assert!(t.is_all_quarantine(), "{t}");
    let runs = edlake::pipeline::RunReport::history(&view(h.state()).lake).expect("history");
    let last = runs.iter().max_by_key(|r| r.started).expect("a run");
    assert_eq!(
        tables.query().exact,
        [("run_id".to_string(), last.run_id.clone())]
    );
    // The rows are raw: locked until an unlock that the audit log records.
    click(&mut h, "Unlock…");
    click(&mut h, "Yes, unlock");
    wait(&mut h, "the run's rows", |a| {
        view(a).tables.total_rows == Some(5)
    });
    // Each row names its table in the first column.
    h.run();
    assert_eq!(
        h.query_all_by_label("clever/daily_participation").count(),
        3
    );
    assert_eq!(h.query_all_by_label("clever/resource_usage").count(), 2);
    let audit = std::fs::read_to_string(view(h.state()).lake.root().join("_edlake/audit.jsonl"))
        .expect("audit log");
    assert!(audit.contains("quarantine/all"), "{audit}");
}

/// Home reads for an analyst: tables grouped by source under plain stage names, empty
/// quarantine tables summed up instead of listed; "Run all" says how many sources it runs.
#[test]
fn home_groups_tables_and_hides_empty_quarantine_tables() {
    let mut h = demo(Arc::new(QueuedDialogs::new([])));
    let count = |h: &Harness<'static, App>, full: bool| {
        let ov = view(h.state()).home.overview.done().expect("overview");
        ov.tables
            .iter()
            .filter(|(t, rows, ..)| t.layer == Layer::Quarantine && (*rows > 0) == full)
            .count()
    };
    let (empty, full) = (count(&h, false), count(&h, true));
    assert!(empty > 0, "the demo has empty quarantine tables");
    wait_label(&mut h, &format!("{empty} quarantine table(s) are empty"));
    let heading = h.query_by_label("Rows set aside (did not fit their format)");
    assert_eq!(
        heading.is_some(),
        full > 0,
        "listed only when some rows were set aside"
    );
    h.get_by_label("Pseudonymized (for analysis)");
    assert!(h.query_all_by_label_contains("stage2").next().is_none());
    click(&mut h, "Ingestion");
    h.get_by_label("Run all 5 sources");
}

/// Closing the demo deletes it, so the app asks first; a school chosen in the demo's charts
/// does not follow into the next lake.
#[test]
fn closing_the_demo_asks_first_and_its_filters_stay_behind() {
    let next = tempfile::tempdir().expect("tmp");
    let mut h = demo(Arc::new(QueuedDialogs::new([next.path().to_path_buf()])));
    h.state_mut().saved.filter.school = Some("Maple Ridge High".into());
    click(&mut h, "Close lake");
    h.get_by_label("Close the demo lake?");
    click(&mut h, "Keep it open");
    assert!(is_open(h.state()), "kept open");
    assert!(h.query_by_label("Close the demo lake?").is_none());
    click(&mut h, "Close lake");
    click(&mut h, "Close and delete the demo");
    wait(&mut h, "the welcome screen", |a| !is_open(a));
    h.get_by_label("Create a lake…").click();
    wait(&mut h, "the new lake", is_open);
    assert_eq!(h.state().saved.filter.school, None);
}

/// Opens the Ingestion page and picks Clever's folder (the next queued dialog answer).
fn choose_clever_folder(h: &mut Harness<'static, App>) {
    click(h, "Ingestion");
    h.get_all_by_label("Choose…")
        .next()
        .expect("clever folder")
        .click();
    h.run_steps(3);
}
