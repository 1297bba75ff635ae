//! The Insights data share read from an Azure storage account, against Azurite started by
//! `scripts/test` on 127.0.0.1 (skipped, with the reason printed, when it is not running).

use crate::common;

use std::path::Path;
use std::sync::Arc;

use edlake::lake::{Lake, Layer, TableRef};
use edlake::modules::insights::Insights;
use edlake::pipeline::{Cancel, Progress, job};
use edlake::pseudo::Salt;
use edlake::sources::azure::{AzureAuth, AzureConfig, AzureSource};
use edlake::sources::{FolderSource, Source};
use object_store::ObjectStoreExt;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::path::Path as StorePath;

/// Azurite's well-known development account key (public, not a secret).
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn endpoint() -> Option<String> {
    common::service_var("EDLAKE_TEST_AZURITE", "Azurite")
}

fn cfg(endpoint: &str, prefix: &str) -> AzureConfig {
    AzureConfig {
        account: "devstoreaccount1".into(),
        container: "oea".into(),
        prefix: prefix.into(),
        auth: AzureAuth::Key,
        endpoint: Some(endpoint.into()),
    }
}

/// Uploads every file under `dir` to `prefix/<relative path>`.
fn upload(endpoint: &str, dir: &Path, prefix: &str) {
    let store = Arc::new(
        MicrosoftAzureBuilder::new()
            .with_account("devstoreaccount1")
            .with_container_name("oea")
            .with_access_key(DEV_KEY)
            .with_endpoint(endpoint.to_string())
            .with_allow_http(true)
            .build()
            .expect("store"),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let folder = FolderSource::new(dir);
    for f in folder.list().expect("list") {
        let mut bytes = Vec::new();
        folder.fetch(&f, &mut bytes).expect("read");
        let to = StorePath::from(format!("{prefix}/{}", f.path));
        rt.block_on(store.put(&to, bytes.into())).expect("upload");
    }
}

fn export(students: u32, days: u32) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tmp");
    let opts = edlake::generate::GenOptions {
        students,
        days,
        seed: 5,
        ..Default::default()
    };
    edlake::generate::generate(d.path(), &opts).expect("generate");
    d
}

fn rows(lake: &Lake, entity: &str) -> i64 {
    lake.table_state(&TableRef::new(
        Layer::General,
        "ms_insights",
        "v0.2",
        entity,
    ))
    .map(|s| s.rows())
    .unwrap_or(-1)
}

#[test]
fn the_share_ingests_like_a_synced_folder_and_fetches_only_new_days() {
    let Some(ep) = endpoint() else { return };
    let prefix = format!("pre_landing/data_shares/t{}/M365", std::process::id());
    let data = export(80, 3);
    let insights = data.path().join("insights");
    upload(&ep, &insights, &prefix);
    // An older roster snapshot that must not be ingested.
    let old = tempfile::tempdir().expect("tmp");
    let snap = std::fs::read_dir(insights.join("roster"))
        .expect("roster")
        .flatten()
        .next()
        .expect("snapshot")
        .path();
    let old_snap = old.path().join("roster/2020-01-01T00-00-00/AadUser");
    std::fs::create_dir_all(&old_snap).expect("mkdir");
    std::fs::copy(
        snap.join("AadUser")
            .read_dir()
            .expect("dir")
            .flatten()
            .next()
            .expect("file")
            .path(),
        old_snap.join("old.csv"),
    )
    .expect("copy");
    upload(&ep, old.path(), &prefix);

    let src = AzureSource::new(cfg(&ep, &prefix), DEV_KEY).expect("source");
    let module = Insights::from_export(&insights).expect("module");
    let dir = tempfile::tempdir().expect("tmp");
    let (lake, _) = Lake::init(dir.path()).expect("lake");
    let salt = Salt::generate();
    let run = |lake: &Lake, src: &dyn Source| {
        job::ingest(
            lake,
            &module,
            src,
            &salt,
            &Progress::default(),
            &Cancel::default(),
        )
    };
    let first = run(&lake, &src);
    assert!(first.error.is_none(), "{:?}", first.error);
    assert!(
        !first.report.tables.is_empty(),
        "nothing ingested from the share"
    );

    // The same export from a local folder gives the same tables.
    let dir2 = tempfile::tempdir().expect("tmp");
    let (local, _) = Lake::init(dir2.path()).expect("lake");
    assert!(run(&local, &FolderSource::new(&insights)).error.is_none());
    for e in ["activity", "AadUser", "Person"] {
        assert_eq!(rows(&lake, e), rows(&local, e), "{e}");
        assert!(rows(&lake, e) > 0, "{e}");
    }

    // A new activity day arrives: only it is fetched.
    let more = export(80, 4);
    let newest = std::fs::read_dir(more.path().join("insights/activity"))
        .expect("activity")
        .flatten()
        .map(|e| e.path())
        .max()
        .expect("a day");
    let only = tempfile::tempdir().expect("tmp");
    let day = newest.file_name().expect("name");
    let to = only.path().join("activity").join(day);
    std::fs::create_dir_all(&to).expect("mkdir");
    for f in std::fs::read_dir(&newest).expect("day").flatten() {
        std::fs::copy(f.path(), to.join(f.file_name())).expect("copy");
    }
    upload(&ep, only.path(), &prefix);
    let before = rows(&lake, "activity");
    let second = run(&lake, &src);
    assert!(second.error.is_none(), "{:?}", second.error);
    assert_eq!(second.report.files_landed, 1);
    assert!(rows(&lake, "activity") > before);
}

#[test]
fn a_wrong_key_or_prefix_is_a_clear_error() {
    let Some(ep) = endpoint() else { return };
    // A well-formed key (64 zero bytes) that is not the account's.
    let wrong = format!("{}==", "A".repeat(86));
    let src = AzureSource::new(cfg(&ep, "pre_landing"), &wrong).expect("source");
    let e = src.list().expect_err("refused");
    assert!(e.to_string().contains("devstoreaccount1"), "{e}");
    let empty = AzureSource::new(cfg(&ep, "no/such/prefix"), DEV_KEY).expect("source");
    let e = empty.list().expect_err("empty");
    assert!(e.to_string().contains("no files under"), "{e}");
}
