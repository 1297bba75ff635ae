//! The "More sources" page of the real app through egui_kittest: identity keys with match rates
//! before and after and the operations log download; a custom source previewed (type mismatches
//! shown, identifying values hidden) and ingested; the audited export of a MicroMasters list.

use std::sync::Arc;

use crate::harness::*;
use edlake::lake::{Layer, TableRef, delta};
use edlake::ui::dialogs::QueuedDialogs;
use edlake::ui::task::TaskState;
use egui_kittest::kittest::Queryable;

fn more_sources(h: &mut egui_kittest::Harness<'static, edlake::ui::App>, section: &str) {
    click(h, "More sources");
    click(h, section);
}

#[test]
fn identity_keys_show_rates_before_and_after_and_the_log_downloads() {
    let dialogs = Arc::new(QueuedDialogs::default());
    let mut h = demo(dialogs.clone());
    more_sources(&mut h, "Clever roster & identity");
    wait_label(&mut h, "Operations log");
    // The demo synced three roster snapshots; all three are in the log.
    let log = edlake::derive::roster::operations(&view(h.state()).lake).unwrap();
    assert_eq!(log.len(), 3);
    for e in &log {
        h.get_by_label(&e.snapshot.to_string());
    }
    // Link the SIS on student numbers: its ids are SIS ids, so nothing matches — visible at once.
    h.query_all_by_label("student_number")
        .nth(1)
        .expect("a student_number choice for the SIS row")
        .click();
    h.run_steps(3);
    click(&mut h, "Apply keys");
    wait(&mut h, "the identity rebuild", |a| {
        matches!(view(a).more.roster.apply.state, TaskState::Done(_))
    });
    wait(&mut h, "the page refresh", |a| {
        view(a).more.roster.info.done().is_some()
    });
    h.run_steps(3);
    debug_shot(&mut h, "identity");
    h.get_by_label("0.0 %");
    // Before: every source linked on sis_id, all matched.
    assert_eq!(h.query_all_by_label("sis_id 100.0 %").count(), 3);
    let lake = view(h.state()).lake.clone();
    let last = edlake::derive::identity::history(&lake)
        .unwrap()
        .pop()
        .unwrap();
    let sis = last.rates.iter().find(|r| r.source == "sis").unwrap();
    assert_eq!((sis.key.as_str(), sis.matched), ("student_number", 0));

    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("ops.csv");
    dialogs.push(&csv);
    click(&mut h, "Download CSV…");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("synced_at,snapshot,new,updated,transferred,reactivated"));
    assert_eq!(text.lines().count(), 1 + 3 * 3, "{text}");
}

#[test]
fn a_custom_source_is_previewed_with_mismatches_and_ingested() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("school_app");
    std::fs::create_dir_all(src.join("data/people")).unwrap();
    std::fs::write(
        src.join("metadata.csv"),
        "Entity Name,Attribute Name,Attribute Data Type,Pseudonymization\npeople,,,\n,id,string,hash\n,grade,integer,no-op\n,nickname,string,mask\n",
    )
    .unwrap();
    std::fs::write(
        src.join("data/people/p.jsonl"),
        "{\"id\":\"s-001\",\"grade\":9,\"nickname\":\"Zed\"}\n{\"id\":\"s-002\",\"grade\":\"K\",\"nickname\":\"Yaz\"}\n{\"id\":\"s-003\",\"grade\":11}\n",
    )
    .unwrap();
    let dialogs = Arc::new(QueuedDialogs::new([
        src.join("metadata.csv"),
        src.join("data"),
    ]));
    let mut h = demo(dialogs);
    more_sources(&mut h, "Custom source (metadata.csv)");
    click(&mut h, "Choose metadata.csv…");
    click(&mut h, "Choose folder…");
    wait(&mut h, "the preview", |a| {
        view(a).more.custom.preview.done().is_some()
    });
    h.run_steps(3);
    debug_shot(&mut h, "custom");
    h.get_by_label_contains("row 2 holds `K`");
    assert!(
        h.query_all_by_label("hidden").count() >= 4,
        "id and nickname values hidden"
    );
    let labels = all_labels(&h);
    for raw in ["s-001", "Zed", "Yaz"] {
        assert!(!labels.iter().any(|l| l.contains(raw)), "{raw} shown");
    }
    assert_eq!(view(h.state()).more.custom.name, "school_app");
    click(&mut h, "Save and ingest");
    wait(&mut h, "the custom ingest", |a| {
        !view(a).more.custom.run.is_running()
    });
    h.run_steps(3);
    let report = match &view(h.state()).more.custom.run.state {
        TaskState::Done(r) => r.clone(),
        other => panic!(
            "ingest did not finish: {}",
            matches!(other, TaskState::Failed(_))
        ),
    };
    assert_eq!((report.rows_ingested, report.rows_quarantined), (2, 1));
    h.get_by_label_contains("line 2");
    let lake = view(h.state()).lake.clone();
    let t = TableRef::new(Layer::General, "school_app", "v1.0", "people");
    let df = delta::read_table(&lake.table_dir(&t), None).unwrap();
    assert_eq!(df.height(), 2);
    assert!(edlake::modules::definition::ModuleDef::load(&lake, "school_app").is_ok());
}

#[test]
fn outreach_lists_export_only_after_an_audited_unlock() {
    let dialogs = Arc::new(QueuedDialogs::default());
    let mut h = demo(dialogs.clone());
    more_sources(&mut h, "edX MicroMasters");
    wait_label(&mut h, "completed the program");
    debug_shot(&mut h, "program");
    let lake = view(h.state()).lake.clone();
    let before = edlake::audit::entries(&lake).unwrap().len();
    click(&mut h, "Export upgrade_candidates…");
    // Nothing is written or recorded until the unlock is confirmed.
    assert_eq!(edlake::audit::entries(&lake).unwrap().len(), before);
    click(&mut h, "Cancel");
    assert!(h.query_by_label("Yes, unlock and export").is_none());
    click(&mut h, "Export upgrade_candidates…");
    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("upgrade.csv");
    dialogs.push(&csv);
    click(&mut h, "Yes, unlock and export");
    wait(&mut h, "the export", |a| {
        !view(a).more.program.export.is_running()
    });
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("learner_id,name,email,course"), "{text}");
    let t = edlake::derive::micromasters::report_table(Layer::Sensitive, "upgrade_candidates");
    let rows = delta::read_table(&lake.table_dir(&t), None)
        .unwrap()
        .height();
    assert!(rows > 0);
    assert_eq!(text.lines().count(), rows + 1);
    let audit = edlake::audit::entries(&lake).unwrap();
    assert_eq!(audit.len(), before + 1);
    let last = audit.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.table.as_str()),
        ("export", t.id().as_str())
    );
}
