//! Setting up a lake in the real app (egui_kittest): the wizard creates a lake and its salt,
//! chooses source folders, connects to Clever's SFTP server (the real sshd of `scripts/test`)
//! and to the Insights share on a storage account (Azurite), and runs the first ingestion.

use crate::common;

use crate::harness::*;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use edlake::secrets::Secrets;
use edlake::ui::dialogs::QueuedDialogs;
use edlake::ui::task::TaskState;
use edlake::ui::{App, Page};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

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
    wait(&mut h, "the salt stored", |a| view(a).salt.is_some());
    h.get_by_label_contains("Back it up below");

    // Back it up: only after an explicit confirmation, owner-only, with an audit entry.
    h.get_by_label_contains("Back it up now");
    let backup = lake_dir.path().join("salt-backup.txt");
    h.get_by_label_contains("I will keep the backup as safe")
        .click();
    h.run_steps(2);
    h.get_by_label("Where to keep the salt backup").focus();
    h.run_steps(1);
    h.get_by_label("Where to keep the salt backup")
        .type_text(backup.to_str().expect("utf-8"));
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    wait_label(&mut h, "The salt was backed up to");
    let salt = view(h.state()).salt.clone().expect("salt");
    let text = std::fs::read_to_string(&backup).expect("backup");
    assert_eq!(text.trim(), salt.expose());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the backup is readable by its owner only: {mode:o}"
        );
    }
    let lake = view(h.state()).lake.clone();
    let audit = edlake::audit::entries(&lake).expect("audit");
    assert!(
        audit.iter().any(|e| e.action == "salt-export"),
        "the backup is in the audit log"
    );

    click(&mut h, "Continue");
    if h.query_by_label("Choose…").is_none() {
        panic!("no Choose… on screen: {:?}", all_labels(&h));
    }
    h.get_by_label("Choose…").click();
    wait(&mut h, "the Clever folder check", |a| {
        view(a).sources.folder("clever").is_some()
    });
    wait_label(&mut h, "daily_participation: 30 new file(s)");
    // The choice is the lake's configuration, not the app's: the CLI (and a scheduled run)
    // finds the same source.
    let lake = view(h.state()).lake.clone();
    let saved = edlake::sources::saved::SavedSource::for_module(&lake, "clever")
        .expect("read")
        .expect("the Clever source is saved in the lake");
    assert_eq!(
        saved.def,
        edlake::sources::saved::SourceDef::Folder {
            path: data.join("clever")
        }
    );

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
    let saved = edlake::sources::saved::SavedSource::load(&lake, "clever").expect("saved");
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
    wait(&mut h, "the salt stored", |a| view(a).salt.is_some());
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

/// One configuration: a source the CLI saved is what the app shows and runs, and the CLI then
/// finds the app's run of that same source (nothing new to land).
#[test]
fn a_source_saved_with_the_cli_is_the_one_the_app_runs() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let dir = tempfile::tempdir().expect("tmp");
    let lake_dir = dir.path().join("lake");
    let cli = |args: &[&str]| {
        let o = common::cli::run(&lake_dir, args);
        (o.status.code(), common::cli::said(&o))
    };
    // `init` keeps its salt in the OS keyring; this lake's salt is the CLI tests' own.
    edlake::lake::Lake::init(&lake_dir).expect("lake");
    let clever = data.join("clever");
    let path = clever.to_str().expect("utf-8 path");
    let (code, said) = cli(&[
        "source", "add", "folder", "clever", "--module", "clever", "--path", path,
    ]);
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = cli(&[
        "source", "add", "folder", "x", "--module", "nope", "--path", path,
    ]);
    assert_eq!(code, Some(2), "an unknown module is refused: {said}");
    assert!(said.contains("`nope` is not a module"), "{said}");

    // The app, with the CLI's salt in its (session) keyring.
    let lake = edlake::lake::Lake::open(&lake_dir).expect("lake");
    let secrets = Secrets::session_only();
    secrets
        .set(
            &edlake::secrets::salt_key(&lake.info().id),
            common::cli::SALT,
        )
        .expect("salt");
    let mut opts = options(Arc::new(QueuedDialogs::new([])));
    opts.autostart_demo = false;
    opts.lake = Some(lake_dir.clone());
    opts.secrets = secrets;
    let mut h = harness(opts);
    wait(&mut h, "the lake and its salt", |a| {
        is_open(a) && view(a).salt.is_some() && view(a).sources.runnable("clever")
    });
    // Tables seen before the run...
    click(&mut h, "Tables");
    h.run_steps(5);
    assert!(h.query_by_label_contains("daily_participation").is_none());
    assert_eq!(view(h.state()).sources.folder("clever"), Some(&clever));
    let reports = run_from_ingestion_page(&mut h, "Run clever");
    assert!(reports[0].rows_ingested > 0, "{reports:?}");
    // ...list the run's tables afterwards, without a restart.
    click(&mut h, "Tables");
    wait_label(&mut h, "daily_participation");

    let (code, said) = cli(&["ingest", "clever", "--source", "clever"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("Landed 0 file(s)") && said.contains("Ingested 0 rows"),
        "the CLI ran the app's source again: {said}"
    );
    let (code, said) = cli(&["source", "list"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("clever  [clever]  folder"), "{said}");
}

/// Where the system's file dialog cannot open (no portal, a headless display: here the dialogs
/// answer nothing at once), the app says so and every path can be typed or pasted instead.
#[test]
fn without_a_file_dialog_every_path_can_be_typed() {
    let lake_dir = tempfile::tempdir().expect("tmp");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let mut opts = options(Arc::new(QueuedDialogs::new([])));
    opts.autostart_demo = false;
    let mut h = harness(opts);
    h.run_steps(2);
    h.get_by_label("Create a lake…").click();
    wait_label(&mut h, "could not open here");
    assert!(!is_open(h.state()), "nothing happened silently");
    let typed = |h: &mut Harness<'static, App>, field: &str, text: &str| {
        h.get_by_label(field).focus();
        h.run_steps(1);
        h.get_by_label(field).type_text(text);
        h.run_steps(1);
        h.key_press(egui::Key::Enter);
        h.run_steps(2);
    };
    let lake = lake_dir.path().join("typed-lake");
    typed(
        &mut h,
        "Folder for the new lake",
        lake.to_str().expect("utf-8"),
    );
    wait(&mut h, "the typed lake", is_open);
    assert!(lake.join("_edlake/lake.json").is_file());

    // A folder that is not there is named, not taken.
    click(&mut h, "Create a new salt");
    wait(&mut h, "the salt stored", |a| view(a).salt.is_some());
    click(&mut h, "Continue");
    let title = "Clever participation reports";
    typed(&mut h, title, "/no/such/folder");
    wait_label(&mut h, "There is no folder /no/such/folder");
    h.get_by_label(title).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    typed(&mut h, title, data.join("clever").to_str().expect("utf-8"));
    wait(&mut h, "the typed Clever folder", |a| {
        view(a).sources.folder("clever") == Some(&data.join("clever"))
    });
    wait_label(&mut h, "daily_participation: 30 new file(s)");
}
