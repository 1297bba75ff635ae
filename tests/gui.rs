//! The real desktop app driven through egui_kittest: the demo flow end to end, previews that show
//! only pseudonyms, every chart with data, cancel at every stage of an ingestion, the audited
//! unlock of a sensitive table, and a new lake set up through the wizard.

mod common;
#[path = "common/gui.rs"]
mod gui;

use gui::*;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use edlake::lake::{Layer, TableRef};
use edlake::metrics::METRICS;
use edlake::pipeline::{HOLD_AT, RunStatus, Stage};
use edlake::secrets::Secrets;
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
    h.get_by_label_contains("Clever participation reports");
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
        click(&mut h, m.name);
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
    }
    // One tolerant image snapshot of a chart page, rendered on the CPU.
    click(&mut h, "engagement-by-grade");
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
    click(&mut h, "daily-active");
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

#[test]
fn unlocking_a_lookup_table_is_audited() {
    let mut h = demo(Arc::new(QueuedDialogs::default()));
    click(&mut h, "Tables");
    wait_label(&mut h, "daily_participation_lookup");
    h.get_by_label_contains("daily_participation_lookup")
        .scroll_to_me();
    h.run_steps(30);
    h.get_by_label_contains("daily_participation_lookup")
        .click();
    h.run_steps(2);
    click(&mut h, "Unlock…");
    h.get_by_label("Yes, unlock").click();
    wait(&mut h, "the lookup rows", |a| {
        view(a).tables.first_page_ms.is_some()
    });
    let lake = view(h.state()).lake.clone();
    let entries = edlake::audit::entries(&lake).expect("audit log");
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].table.contains("daily_participation_lookup"),
        "{:?}",
        entries[0]
    );

    // Home shows the log: who, on which machine, what; and notices an edited line.
    click(&mut h, "Home");
    wait_label(&mut h, "Audit log");
    h.get_by_label_contains("Audit log").scroll_to_me();
    h.run_steps(5);
    h.get_by_label_contains("Audit log").click();
    wait_label(&mut h, "1 entry, chain intact.");
    wait_label(&mut h, &entries[0].host);
    assert!(
        h.query_all_by_label_contains("daily_participation_lookup")
            .count()
            >= 1
    );
    let path = lake.meta_dir().join("audit.jsonl");
    let text = std::fs::read_to_string(&path).expect("log");
    std::fs::write(&path, text.replace(&entries[0].user, "someone_else")).expect("edit");
    h.get_by_label("Check again").scroll_to_me();
    h.run_steps(3);
    click(&mut h, "Check again");
    wait_label(&mut h, "changed outside edlake");
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

    click(&mut h, "Ingestion");
    h.get_all_by_label("Choose…")
        .next()
        .expect("clever folder")
        .click();
    h.run_steps(3);
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

#[test]
fn wizard_sets_up_a_new_lake_with_a_salt_and_sources() {
    let lake_dir = tempfile::tempdir().expect("tmp");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let dialogs = Arc::new(QueuedDialogs::new([
        lake_dir.path().to_path_buf(),
        data.join("clever"),
        data.join("insights"),
    ]));
    let mut opts = options(dialogs);
    opts.autostart_demo = false;
    if std::env::var_os("EDLAKE_TEST_KEYRING").is_some() {
        opts.secrets = Secrets::os(); // the real GNOME Keyring started by scripts/test
    }
    let mut h = harness(opts);
    h.run_steps(2);
    h.get_by_label("Create a lake…").click();
    wait(&mut h, "the new lake", is_open);
    assert_eq!(h.state().saved.page, Page::Setup);
    click(&mut h, "Create a new salt");
    assert!(view(h.state()).salt.is_some(), "salt stored");
    h.get_by_label_contains("stored in the OS keyring");

    click(&mut h, "Continue");
    if h.query_by_label("Choose…").is_none() {
        panic!("no Choose… on screen: {:?}", all_labels(&h));
    }
    h.get_by_label("Choose…").click();
    wait(&mut h, "the Clever folder check", |a| {
        a.saved.folders.contains_key("clever")
    });
    wait_label(&mut h, "daily_participation: 30 new file(s)");

    click(&mut h, "Continue");
    click(&mut h, "Choose…");
    debug_shot(&mut h, "wizard-insights");
    wait_label(&mut h, "activity for 15 day(s)");
    h.get_by_label_contains("latest roster snapshot");
}

/// The wizard's SFTP step against the real sshd from `scripts/test`: fingerprint shown, accepted
/// and pinned, report folders listed, then a Clever run from the server.
#[test]
fn wizard_connects_to_clever_sftp_and_pins_the_host_key() {
    let Some(port) = common::service_var("EDLAKE_TEST_SFTP_PORT", "the test sshd") else {
        return;
    };
    let env = |k: &str| std::env::var(k).expect(k);
    let data = PathBuf::from(env("EDLAKE_TEST_SFTP_DATA"));
    let remote = data.join("wizard");
    let _ = std::fs::remove_dir_all(&remote);
    let gen_dir = tempfile::tempdir().expect("tmp");
    edlake::generate::generate(
        gen_dir.path(),
        &edlake::generate::GenOptions {
            students: 30,
            days: 2,
            seed: 3,
            ..Default::default()
        },
    )
    .expect("generate");
    std::fs::rename(gen_dir.path().join("clever"), &remote)
        .or_else(|_| {
            std::process::Command::new("cp")
                .args(["-r"])
                .arg(gen_dir.path().join("clever"))
                .arg(&remote)
                .status()
                .map(|_| ())
        })
        .expect("remote files");
    let _ = std::process::Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(&data)
        .status();

    let lake_dir = tempfile::tempdir().expect("tmp");
    let mut h = new_lake_with_salt(lake_dir.path());
    click(&mut h, "Clever's SFTP server");
    let password = env("EDLAKE_TEST_SFTP_PASSWORD");
    for (field, value) in [
        ("Host", "127.0.0.1".to_string()),
        ("User", env("EDLAKE_TEST_SFTP_USER")),
        ("Password", password.clone()),
        ("Remote folder", "wizard".to_string()),
    ] {
        h.get_by_label(field).focus();
        h.run_steps(1);
        h.get_by_label(field).type_text(&value);
        h.run_steps(1);
    }
    h.get_by_label("Port").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Port").type_text(&port);
    h.run_steps(2);
    h.get_by_label("Test connection").click();
    let fp = env("EDLAKE_TEST_SFTP_FINGERPRINT");
    wait_label(&mut h, &fp);
    h.get_by_label("Accept this key").click();
    wait_label(&mut h, "Report folders");
    h.get_by_label_contains("daily-participation/Students");

    let lake = view(h.state()).lake.clone();
    let saved = edlake::sources::saved::SavedSource::load(&lake, "clever-sftp").expect("saved");
    match &saved.def {
        edlake::sources::saved::SourceDef::Sftp(c) => {
            assert_eq!(c.host_key.as_deref(), Some(fp.as_str()))
        }
        other => panic!("{other:?}"),
    }
    for f in common::files_under(&lake.root().join("_edlake")) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        assert!(
            !text.contains(&password),
            "password written to {}",
            f.display()
        );
    }

    let r = run_from_ingestion_page(&mut h, "Run clever");
    assert!(r[0].rows_ingested > 0, "{r:?}");
    assert_eq!(
        r[0].files_landed as usize,
        common::files_under(&remote).len()
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

/// The wizard's storage-account step against Azurite from `scripts/test`: the share is listed
/// (activity days, roster snapshot), saved with its key in the keyring, and an Insights run
/// reads from it.
#[test]
fn wizard_reads_the_insights_share_from_the_storage_account() {
    let Some(endpoint) = common::service_var("EDLAKE_TEST_AZURITE", "Azurite") else {
        return;
    };
    // Azurite's published development key (not a secret).
    let key =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    let prefix = format!("pre_landing/data_shares/gui{}/M365", std::process::id());
    let store = object_store::azure::MicrosoftAzureBuilder::new()
        .with_account("devstoreaccount1")
        .with_container_name("oea")
        .with_access_key(key)
        .with_endpoint(endpoint.clone())
        .with_allow_http(true)
        .build()
        .expect("store");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let export = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/insights");
    let folder = edlake::sources::FolderSource::new(&export);
    use edlake::sources::Source;
    use object_store::ObjectStoreExt;
    for f in folder.list().expect("list") {
        let mut bytes = Vec::new();
        folder.fetch(&f, &mut bytes).expect("read");
        let to = object_store::path::Path::from(format!("{prefix}/{}", f.path));
        rt.block_on(store.put(&to, bytes.into())).expect("upload");
    }

    let lake_dir = tempfile::tempdir().expect("tmp");
    let mut h = new_lake_with_salt(lake_dir.path());
    click(&mut h, "Continue");
    click(&mut h, "The storage account");
    for (field, value) in [
        ("Storage account", "devstoreaccount1"),
        ("Folder (prefix)", prefix.as_str()),
        ("Account key", key),
        ("Endpoint (optional)", endpoint.as_str()),
    ] {
        h.get_by_label(field).focus();
        h.run_steps(1);
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        h.get_by_label(field).type_text(value);
        h.run_steps(2);
    }
    click(&mut h, "Check the share");
    wait_label(&mut h, "activity: 15 day(s)");
    h.get_by_label_contains("latest 2025-09-15T06-16-22");

    let r = run_from_ingestion_page(&mut h, "Run insights");
    assert!(r[0].rows_ingested > 0, "{r:?}");
    let lake = view(h.state()).lake.clone();
    for f in common::files_under(lake.root()) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        assert!(
            !text.contains(key),
            "the key was written to {}",
            f.display()
        );
    }
}

/// The app with a new lake created through the welcome screen (the real keyring under
/// scripts/test), its salt made in setup's first step, on the wizard's second step.
fn new_lake_with_salt(dir: &Path) -> Harness<'static, App> {
    let dialogs = Arc::new(QueuedDialogs::new([dir.to_path_buf()]));
    let mut opts = options(dialogs);
    opts.autostart_demo = false;
    if std::env::var_os("EDLAKE_TEST_KEYRING").is_some() {
        opts.secrets = Secrets::os();
    }
    let mut h = harness(opts);
    h.run_steps(2);
    h.get_by_label("Create a lake…").click();
    wait(&mut h, "the new lake", is_open);
    click(&mut h, "Create a new salt");
    click(&mut h, "Continue");
    h
}

/// Opens the ingestion page, clicks `button` and returns the finished run's reports.
fn run_from_ingestion_page(
    h: &mut Harness<'static, App>,
    button: &str,
) -> Vec<edlake::pipeline::RunReport> {
    click(h, "Ingestion");
    click(h, button);
    wait(h, button, |a| {
        matches!(
            view(a).ingest.job.state,
            TaskState::Done(_) | TaskState::Failed(_)
        )
    });
    match &view(h.state()).ingest.job.state {
        TaskState::Done(r) => r.clone(),
        TaskState::Failed(e) => panic!("{e}"),
        _ => panic!("not finished"),
    }
}
