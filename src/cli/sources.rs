//! `source add/list/test/remove` and `ingest ... --source NAME`: saved sources whose secrets
//! live only in the OS keyring, with SFTP host keys pinned after the user accepts them.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use edlake::lake::Lake;
use edlake::sources::Source;
use edlake::sources::azure::{AzureAuth, AzureConfig, ShareLayout};
use edlake::sources::saved::{SavedError, SavedSource, SourceDef};
use edlake::sources::sftp::{SftpAuth, SftpConfig, probe};

use super::ctx::{Ctx, print_json};
use super::{AddSource, Coded, EXIT_BAD_INPUT, SourceAction};

fn read_secret(what: &str) -> Result<String> {
    if std::io::stdin().is_terminal() {
        eprintln!("Enter the {what} (it goes to the OS keyring, nowhere else):");
    }
    let mut s = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut s)
        .with_context(|| format!("reading the {what} from standard input"))?;
    let s = s.trim_end_matches(['\n', '\r']).to_string();
    if s.is_empty() {
        bail!(Coded(EXIT_BAD_INPUT, format!("the {what} is empty")));
    }
    Ok(s)
}

fn bad(e: SavedError) -> anyhow::Error {
    match e {
        SavedError::BadName(_) | SavedError::Unknown(_) => {
            Coded(EXIT_BAD_INPUT, e.to_string()).into()
        }
        other => other.into(),
    }
}

/// Tests an SFTP source; pins its host key when the user accepted it. Returns whether it worked.
fn test_sftp(ctx: &Ctx, lake: &Lake, src: &mut SavedSource, accept: Option<&str>) -> Result<bool> {
    let SourceDef::Sftp(cfg) = src.def.clone() else {
        return Ok(true);
    };
    let secret = ctx.secrets.get(&src.key(lake))?;
    let mut accept = accept.map(str::to_string);
    loop {
        match probe(&cfg, secret.as_ref().map(|s| s.as_str()), accept.as_deref()) {
            Ok(p) => {
                if cfg.host_key.as_deref() != Some(p.fingerprint.as_str()) {
                    if let SourceDef::Sftp(c) = &mut src.def {
                        c.host_key = Some(p.fingerprint.clone());
                    }
                    src.save(lake).map_err(bad)?;
                    println!("Host key {} accepted and pinned.", p.fingerprint);
                }
                if ctx.json {
                    let folders: Vec<_> = p
                        .folders
                        .iter()
                        .map(|(d, n)| serde_json::json!({"folder": d, "files": n}))
                        .collect();
                    print_json(
                        &serde_json::json!({"fingerprint": p.fingerprint, "folders": folders}),
                    )?;
                } else {
                    println!("Connected to {}:{} as {}.", cfg.host, cfg.port, cfg.user);
                    for (d, n) in &p.folders {
                        let d = if d.is_empty() { "." } else { d.as_str() };
                        println!("  {d:<48} {n} file(s)");
                    }
                }
                return Ok(true);
            }
            Err(edlake::sources::SourceError::Remote(msg)) if accept.is_none() => {
                // An unknown key: ask on a terminal, otherwise explain how to accept.
                let fp = msg
                    .split_whitespace()
                    .find(|w| w.starts_with("SHA256:"))
                    .map(|w| w.trim_end_matches('.').to_string());
                match fp {
                    Some(fp)
                        if msg.contains("not accepted yet") && std::io::stdin().is_terminal() =>
                    {
                        eprint!(
                            "The server {}:{} presents host key {fp}.\nCompare it with the fingerprint your vendor gave you. Accept it? [y/N] ",
                            cfg.host, cfg.port
                        );
                        std::io::stderr().flush().ok();
                        let mut a = String::new();
                        std::io::stdin().lock().read_line(&mut a).ok();
                        if a.trim().eq_ignore_ascii_case("y") {
                            accept = Some(fp);
                            continue;
                        }
                        bail!(Coded(
                            EXIT_BAD_INPUT,
                            "host key not accepted; nothing was fetched".into()
                        ));
                    }
                    _ => bail!(Coded(EXIT_BAD_INPUT, msg)),
                }
            }
            Err(e) => bail!(Coded(EXIT_BAD_INPUT, e.to_string())),
        }
    }
}

pub(super) fn source_cmd(ctx: &Ctx, action: SourceAction) -> Result<ExitCode> {
    let lake = ctx.lake()?;
    match action {
        SourceAction::Add { kind } => add(ctx, &lake, kind)?,
        SourceAction::List => list(ctx, &lake)?,
        SourceAction::Test {
            name,
            accept_host_key,
        } => {
            let mut src = SavedSource::load(&lake, &name).map_err(bad)?;
            match &src.def {
                SourceDef::Folder { path } => {
                    if !path.is_dir() {
                        bail!(Coded(
                            EXIT_BAD_INPUT,
                            format!("the folder {} does not exist", path.display())
                        ));
                    }
                    println!("The folder {} is there.", path.display());
                }
                SourceDef::Sftp(_) => {
                    test_sftp(ctx, &lake, &mut src, accept_host_key.as_deref())?;
                }
                SourceDef::Azure(_) => test_azure(&lake, ctx, &src)?,
            }
        }
        SourceAction::Remove { name } => {
            SavedSource::remove(&lake, &name, &ctx.secrets).map_err(bad)?;
            println!("Source `{name}` removed and its secret deleted from the keyring.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A source as `source add` was asked to define it.
struct Added {
    src: SavedSource,
    replace: bool,
    secret: Option<edlake::secrets::SecretString>,
    accept: Option<String>,
}

/// An existing folder, as an absolute path (the lake may be used from another working folder).
fn existing_folder(path: std::path::PathBuf) -> Result<std::path::PathBuf> {
    if !path.is_dir() {
        bail!(Coded(
            EXIT_BAD_INPUT,
            format!("the folder {} does not exist", path.display())
        ));
    }
    Ok(std::path::absolute(&path).unwrap_or(path))
}

/// The module a source is for, checked: a built-in one or a custom module of this lake.
fn checked_module(lake: &Lake, module: &str) -> Result<String> {
    let known = edlake::app::saved::BUILT_IN.contains(&module)
        || edlake::modules::definition::ModuleDef::load(lake, module).is_ok();
    if !known {
        bail!(Coded(
            EXIT_BAD_INPUT,
            edlake::app::AppError::UnknownModule(module.into()).to_string()
        ));
    }
    Ok(module.to_string())
}

fn sftp_def(kind: AddSource) -> Result<Added> {
    let AddSource::Sftp {
        name,
        module,
        host,
        port,
        user,
        password_stdin,
        key,
        passphrase_stdin,
        remote_dir,
        accept_host_key,
        timeout,
        replace,
    } = kind
    else {
        bail!("not an SFTP source");
    };
    let auth = match key {
        Some(path) => SftpAuth::Key {
            path: std::path::absolute(&path).unwrap_or(path),
        },
        None => SftpAuth::Password,
    };
    let secret = if password_stdin {
        Some(read_secret("SFTP password")?)
    } else if passphrase_stdin {
        Some(read_secret("key passphrase")?)
    } else {
        None
    };
    let cfg = SftpConfig {
        host,
        port,
        user,
        auth,
        remote_dir,
        host_key: None,
        timeout_secs: timeout,
    };
    Ok(Added {
        src: SavedSource {
            name,
            module: Some(module),
            def: SourceDef::Sftp(cfg),
        },
        replace,
        secret: secret.map(edlake::secrets::SecretString::new),
        accept: accept_host_key,
    })
}

fn datashare_def(kind: AddSource) -> Result<Added> {
    let AddSource::Datashare {
        name,
        folder,
        account,
        container,
        prefix,
        key_stdin,
        sas_stdin,
        endpoint,
        replace,
    } = kind
    else {
        bail!("not a data share");
    };
    let (def, secret) = match (folder, account) {
        (Some(path), _) => (
            SourceDef::Folder {
                path: existing_folder(path)?,
            },
            None,
        ),
        (None, Some(account)) => {
            let (auth, what) = match (key_stdin, sas_stdin) {
                (true, _) => (AzureAuth::Key, "storage account key"),
                (_, true) => (AzureAuth::Sas, "SAS token"),
                _ => bail!(Coded(
                    EXIT_BAD_INPUT,
                    "give --key-stdin or --sas-stdin: the storage account needs a key or a SAS token"
                        .into()
                )),
            };
            let secret = read_secret(what)?;
            let cfg = AzureConfig {
                account,
                container,
                prefix: prefix.unwrap_or_default().trim_matches('/').to_string(),
                auth,
                endpoint,
            };
            (SourceDef::Azure(cfg), Some(secret))
        }
        (None, None) => bail!(Coded(
            EXIT_BAD_INPUT,
            "give --folder DIR or --account A --prefix P".into()
        )),
    };
    Ok(Added {
        src: SavedSource {
            name,
            module: Some("insights".into()),
            def,
        },
        replace,
        secret: secret.map(edlake::secrets::SecretString::new),
        accept: None,
    })
}

/// `edlake source add sftp|datashare|folder ...`.
fn add(ctx: &Ctx, lake: &Lake, kind: AddSource) -> Result<()> {
    let Added {
        mut src,
        replace,
        secret,
        accept,
    } = match kind {
        AddSource::Folder {
            name,
            module,
            path,
            replace,
        } => Added {
            src: SavedSource {
                name,
                module: Some(checked_module(lake, &module)?),
                def: SourceDef::Folder {
                    path: existing_folder(path)?,
                },
            },
            replace,
            secret: None,
            accept: None,
        },
        k @ AddSource::Sftp { .. } => sftp_def(k)?,
        k @ AddSource::Datashare { .. } => datashare_def(k)?,
    };
    if let Some(m) = &src.module {
        checked_module(lake, m)?;
    }
    // A redefined source's old secret goes: it was bound to where the old one pointed.
    let old_key = SavedSource::load(lake, &src.name).ok().map(|o| o.key(lake));
    if !replace && old_key.is_some() {
        bail!(Coded(
            EXIT_BAD_INPUT,
            format!(
                "a source named `{}` exists; add --replace to redefine it",
                src.name
            )
        ));
    }
    src.save(lake).map_err(bad)?;
    let key = src.key(lake);
    match &secret {
        Some(s) => ctx.secrets.set(&key, s)?,
        None => ctx.secrets.delete(&key)?,
    }
    if let Some(old) = old_key.filter(|k| *k != key) {
        ctx.secrets.delete(&old)?;
    }
    println!(
        "Source `{}` saved for the {} module (its secret, if any, is in the OS keyring).",
        src.name,
        src.module().unwrap_or("?")
    );
    match &src.def {
        SourceDef::Sftp(_) => {
            test_sftp(ctx, lake, &mut src, accept.as_deref())?;
        }
        SourceDef::Azure(_) => test_azure(lake, ctx, &src)?,
        SourceDef::Folder { .. } => {}
    }
    Ok(())
}

/// `edlake source list`.
fn list(ctx: &Ctx, lake: &Lake) -> Result<()> {
    let all = SavedSource::list(lake).map_err(bad)?;
    if ctx.json {
        return print_json(&all);
    }
    if all.is_empty() {
        println!("No saved sources. Add one with `edlake source add folder|sftp|datashare ...`.");
    }
    for s in &all {
        let module = s.module().unwrap_or("no module");
        match &s.def {
            SourceDef::Sftp(c) => println!(
                "{}  [{module}]  sftp {}@{}:{} {}  host key {}",
                s.name,
                c.user,
                c.host,
                c.port,
                if c.remote_dir.is_empty() {
                    "."
                } else {
                    &c.remote_dir
                },
                c.host_key.as_deref().unwrap_or("NOT ACCEPTED YET")
            ),
            SourceDef::Folder { path } => {
                println!("{}  [{module}]  folder {}", s.name, path.display())
            }
            SourceDef::Azure(c) => println!(
                "{}  [{module}]  azure {}/{}/{}{}",
                s.name,
                c.account,
                c.container,
                c.prefix,
                c.endpoint
                    .as_ref()
                    .map(|e| format!(" at {e}"))
                    .unwrap_or_default()
            ),
        }
    }
    Ok(())
}

/// Lists the share and reports what an Insights run would find.
fn test_azure(lake: &Lake, ctx: &Ctx, src: &SavedSource) -> Result<()> {
    let Some(az) = src.open_azure(lake, &ctx.secrets).map_err(bad)? else {
        return Ok(());
    };
    let files = az
        .list()
        .map_err(|e| Coded(EXIT_BAD_INPUT, e.to_string()))?;
    match ShareLayout::of(&files).describe() {
        Ok(lines) => {
            for l in lines {
                println!("  {l}");
            }
            Ok(())
        }
        Err(e) => bail!(Coded(EXIT_BAD_INPUT, e.to_string())),
    }
}
