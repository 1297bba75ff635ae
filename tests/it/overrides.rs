//! The district's pseudonymization choices (the review's overrides): identifiers can never be
//! published as they are, and a run applies the choices (a masked column reads `*`, a
//! hash-no-lookup id keeps its raw value out of the general table).

use edlake::lake::{Lake, Layer, TableRef};
use edlake::modules::clever::Clever;
use edlake::modules::overrides::{OverrideError, Overrides, apply, has_data};
use edlake::pseudo::Op;

#[test]
fn identifiers_cannot_be_exposed_and_overrides_apply() {
    let dir = tempfile::tempdir().expect("tmp");
    let (lake, _) = Lake::init(dir.path()).expect("lake");
    let m = Clever::default();
    let mut o = Overrides::default();
    assert!(matches!(
        o.set(&m, "daily_participation", "sis_id", Op::NoOp),
        Err(OverrideError::WouldExpose { .. })
    ));
    o.set(&m, "daily_participation", "school_name", Op::Mask)
        .expect("mask a kept column");
    o.set(&m, "daily_participation", "sis_id", Op::HashNoLookup)
        .expect("hnl");
    o.save(&lake, "clever").expect("save");
    let applied = apply(&lake, Box::new(Clever::default())).expect("overrides read");
    let e = applied.entity("daily_participation").expect("entity");
    assert_eq!(e.metadata.op("school_name"), Some(Op::Mask));
    assert_eq!(e.metadata.op("sis_id"), Some(Op::HashNoLookup));
    assert!(!has_data(&lake, &m));

    // A run applies them: the masked column reads `*` in the general table.
    let src = edlake::sources::FolderSource::new(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/clever"),
    );
    let salt = edlake::pseudo::Salt::generate();
    let out = edlake::app::run::run_source(
        &lake,
        edlake::app::run::SourceKind::Clever,
        &src,
        dir.path(),
        &salt,
        &edlake::pipeline::Progress::default(),
        &edlake::pipeline::Cancel::default(),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(has_data(&lake, &m));
    let t = TableRef::new(Layer::General, "clever", "v1.0", "daily_participation");
    let df = edlake::lake::delta::read_table(&lake.table_dir(&t), Some(50)).expect("read");
    let names = df
        .column("school_name")
        .expect("col")
        .str()
        .expect("str")
        .clone();
    assert!(names.iter().all(|v| v == Some("*")));
    assert!(df.column("sis_id_pseudonym").is_ok());
    assert!(
        df.column("sis_id").is_err(),
        "hash-no-lookup keeps the raw id out"
    );
}
