//! The layering of `src/` stays true: each top-level module imports only modules of lower
//! layers (README, Development), and no folder's files import each other in a cycle. Reads the
//! source text, so a new upward `use` fails here before anyone has to untangle it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules from the bottom up; a module may use those before it (and itself).
const LAYERS: &[&[&str]] = &[
    &["lake"],
    &["generate"],
    &["secrets"],
    &["progress"],
    &["audit"],
    &["pseudo"],
    &["sources"],
    &["formats"],
    &["preview"],
    &["modules"],
    &["pipeline"],
    &["derive"],
    &["metrics"],
    &["app"],
    &["browse"],
    &["settings"],
    &["demo"],
    &["bench"],
    &["ui"],
    &["cli"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The file's code without its unit tests (a trailing `#[cfg(test)]` module) and comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("\n#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path that follows `prefix` (`crate::`, `edlake::`, `super::`), up to `depth` segments.
fn paths_after(code: &str, prefix: &str, depth: usize) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut segs = Vec::new();
        let mut s = rest;
        while segs.len() < depth {
            let end = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            if end == 0 {
                break;
            }
            segs.push(s[..end].to_string());
            s = &s[end..];
            match s.strip_prefix("::") {
                Some(t) => s = t,
                None => break,
            }
        }
        if !segs.is_empty() {
            out.insert(segs);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let root = src();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for f in rust_files(&root) {
        let rel = f.strip_prefix(&root).unwrap();
        let top = rel
            .iter()
            .next()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if ["lib", "main"].contains(&top.as_str()) {
            continue;
        }
        let mine = rank(&top).unwrap_or_else(|| panic!("src/{top} is in no layer of LAYERS"));
        let code = code(&f);
        for prefix in ["crate::", "edlake::"] {
            for p in paths_after(&code, prefix, 1) {
                let dep = &p[0];
                checked += 1;
                if *dep == top {
                    continue;
                }
                match rank(dep) {
                    Some(r) if r < mine => {}
                    _ => wrong.push(format!("{} uses {prefix}{dep}", rel.display())),
                }
            }
        }
    }
    // The scan sees the crate's imports (it would pass vacuously if it found none).
    assert!(checked > 200, "only {checked} imports found");
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_folder_has_an_import_cycle() {
    let root = src();
    // Per folder: its modules and which siblings each one uses.
    let mut folders: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in rust_files(&root) {
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        // A folder's mod.rs declares its files; only the files' uses of each other count.
        if stem == "mod" || f.parent() == Some(root.as_path()) {
            continue;
        }
        let dir = f.parent().unwrap().to_path_buf();
        let module: Vec<String> = dir
            .strip_prefix(&root)
            .unwrap()
            .iter()
            .map(|s| s.to_string_lossy().to_string())
            .collect();
        let code = code(&f);
        // Siblings are reached as `super::x` or by their full path.
        let mut uses: BTreeSet<String> = paths_after(&code, "super::", 1)
            .into_iter()
            .map(|p| p[0].clone())
            .collect();
        uses.extend(
            paths_after(&code, &format!("crate::{}::", module.join("::")), 1)
                .into_iter()
                .map(|p| p[0].clone()),
        );
        uses.remove(&stem);
        folders.entry(dir).or_default().insert(stem, uses);
    }
    let edges: usize = folders
        .values()
        .flat_map(|g| g.values())
        .map(|u| u.len())
        .sum();
    assert!(edges > 40, "only {edges} imports between files found");
    let mut cycles = Vec::new();
    for (dir, graph) in &folders {
        let names: BTreeSet<&String> = graph.keys().collect();
        for start in graph.keys() {
            // Depth-first from `start`: reaching `start` again is a cycle.
            let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((n, path)) = stack.pop() {
                for next in graph.get(&n).into_iter().flatten() {
                    if !names.contains(next) {
                        continue;
                    }
                    if next == start {
                        cycles.push(format!(
                            "{}: {} -> {start}",
                            dir.strip_prefix(&root).unwrap_or(dir).display(),
                            path.join(" -> ")
                        ));
                    } else if seen.insert(next.clone()) {
                        let mut p = path.clone();
                        p.push(next.clone());
                        stack.push((next.clone(), p));
                    }
                }
            }
        }
    }
    cycles.sort();
    cycles.dedup();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}
