//! The house rules of `crm-app`, checked on its source: each area uses only
//! the areas below it, and no file grows past the size a reader can hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Floors from the ground up. An area may use its own floor's code and any
/// floor below; `documents` and `intake` share a floor and do not use each other,
/// nor do `feed` and `analytics`.
const FLOORS: &[(&str, u8)] = &[
    ("platform", 0),
    ("identity", 1),
    ("parties", 2),
    ("sales", 3),
    ("documents", 4),
    ("intake", 4),
    ("feed", 5),
    ("analytics", 5),
];

/// Names the crate root re-exports, and the area each comes from.
const ROOT: &[(&str, &str)] = &[
    ("App", "platform"),
    ("Settings", "platform"),
    ("MailSettings", "platform"),
    ("AppError", "platform"),
    ("FieldError", "platform"),
    ("Unmet", "platform"),
    ("Page", "platform"),
    ("PageRequest", "platform"),
    ("Clock", "platform"),
    ("ManualClock", "platform"),
    ("SystemClock", "platform"),
    ("Principal", "identity"),
    ("scenario", "platform"),
];

const MAX_LINES: usize = 600;

fn floor(area: &str) -> Option<u8> {
    FLOORS.iter().find(|(a, _)| *a == area).map(|(_, f)| *f)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<name>` a source text mentions, including the names inside
/// `use crate::{a, b::c}` groups.
fn crate_references(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        if text[..at].ends_with("_") || text[..at].ends_with(char::is_alphanumeric) {
            continue; // `crm_app::` in a doc comment, not this crate
        }
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                let name: String =
                    item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            found.insert(name);
        }
    }
    found
}

fn area_of_reference(name: &str) -> Option<&'static str> {
    if let Some((area, _)) = FLOORS.iter().find(|(a, _)| *a == name) {
        return Some(area);
    }
    ROOT.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// Every use of an area that is not below the user, as `file: area`.
fn violations(src: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    for (area, own) in FLOORS {
        let mut files = Vec::new();
        rust_files(&src.join(area), &mut files);
        assert!(!files.is_empty(), "area {area} has no files under {}", src.display());
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            for name in crate_references(&text) {
                match area_of_reference(&name) {
                    None => bad
                        .push(format!("{}: crate::{name} is no area and no known root name", file.display())),
                    Some(used) if used == *area => {}
                    Some(used) => {
                        let theirs = floor(used).unwrap();
                        if theirs >= *own {
                            bad.push(format!(
                                "{}: {area} uses {used}, which is not below it",
                                file.display()
                            ));
                        }
                    }
                }
            }
        }
    }
    bad
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_area_uses_only_the_areas_below_it() {
    let bad = violations(&src());
    assert!(bad.is_empty(), "areas used upward or sideways:\n{}", bad.join("\n"));
}

#[test]
fn the_check_catches_an_upward_use() {
    // A copy of the tree with one upward use planted proves the check can fail.
    let dir = tempfile::tempdir().unwrap();
    for (area, _) in FLOORS {
        let to = dir.path().join(area);
        fs::create_dir_all(&to).unwrap();
        fs::write(to.join("mod.rs"), "//! empty\n").unwrap();
    }
    fs::write(
        dir.path().join("parties/mod.rs"),
        "use crate::sales::interests;\nuse crate::{identity, App};\n",
    )
    .unwrap();
    fs::write(dir.path().join("documents/mod.rs"), "fn f() { crate::intake::leads::get(); }\n").unwrap();
    let bad = violations(dir.path());
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].contains("parties uses sales") || bad[1].contains("parties uses sales"), "{bad:?}");
    assert!(bad.iter().any(|b| b.contains("documents uses intake")), "{bad:?}");
}

/// Every Rust file of the workspace's crates, for the size rule.
#[test]
fn no_file_in_crates_is_over_600_lines() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    rust_files(crates, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "target"))
        .filter_map(|f| {
            let lines = fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines:\n{}", long.join("\n"));
}
