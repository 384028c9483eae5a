//! Finds every code the server's source can give and holds the catalogue to it.
use super::{FIELD_CODES, RULE_CHECKS};

fn sources(dir: &std::path::Path, found: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            // Only the server's code: test modules quote codes of their own.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default().to_owned();
            found.push((path.display().to_string(), text));
        }
    }
}

/// The arguments of the call whose `(` ends just before `text`, split at
/// top-level commas (string literals and nested brackets kept whole).
fn arguments(text: &str) -> Vec<String> {
    let (mut depth, mut current, mut out) = (0usize, String::new(), Vec::new());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                current.push(c);
                while let Some(s) = chars.next() {
                    current.push(s);
                    if s == '\\' {
                        current.extend(chars.next());
                    } else if s == '"' {
                        break;
                    }
                }
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => break,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current).trim().to_owned());
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current.trim().to_owned());
    out.retain(|a| !a.is_empty());
    out
}

/// A code literal: `"sum"`, or `format!("{field}_active")` with its placeholder.
fn code_of(arg: &str) -> Option<String> {
    let arg = arg.trim_start_matches('&');
    let arg = arg.strip_prefix("format!(").and_then(|a| a.strip_suffix(')')).unwrap_or(arg);
    let lit = arg.strip_prefix('"')?.strip_suffix('"')?;
    lit.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_{}".contains(c))
        .then(|| lit.to_owned())
}

/// A code and the file that gives it.
type Found = Vec<(String, String)>;

/// (field codes, rule checks) the source gives, with where.
fn emitted() -> (Found, Found) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["api", "app", "domain", "scenario"] {
        sources(&root.join(krate).join("src"), &mut files);
    }
    // (call, index of the code argument, whether it names a rule check)
    let calls: &[(&str, usize, bool)] = &[
        ("FieldError::new(", 1, false),
        ("AppError::field(", 1, false),
        ("AppError::malformed(", 1, false),
        ("ApiError::field(", 1, false),
        ("ValueError::new(", 0, false),
        (".push(", 1, false),
        ("AppError::rule(", 0, true),
        ("Unmet::new(", 0, true),
    ];
    let (mut fields, mut checks) = (Vec::new(), Vec::new());
    for (file, text) in &files {
        for (call, index, rule) in calls {
            for (at, _) in text.match_indices(call) {
                let args = arguments(&text[at + call.len()..]);
                // `Problems::push(field, code, message)`; other pushes are not codes.
                if *call == ".push(" && args.len() != 3 {
                    continue;
                }
                if let Some(code) = args.get(*index).and_then(|a| code_of(a)) {
                    let into = if *rule { &mut checks } else { &mut fields };
                    into.push((code, file.clone()));
                }
            }
        }
        // The scenario crate's problems name their codes as a field, and
        // its guards (`Guard::ClientSet => "client_set"`) are rule checks.
        for line in text.lines() {
            let guard = file.ends_with("model.rs") && line.trim_start().starts_with("Guard::");
            let marker = if guard { "=> \"" } else { "code: \"" };
            let Some((_, rest)) = line.split_once(marker) else { continue };
            let Some(code) = rest.split('"').next().and_then(|c| code_of(&format!("\"{c}\""))) else {
                continue;
            };
            let into = if guard { &mut checks } else { &mut fields };
            into.push((code, file.clone()));
        }
    }
    (fields, checks)
}

#[test]
fn every_code_the_server_gives_is_catalogued_and_nothing_else() {
    let (fields, checks) = emitted();
    assert!(
        fields.len() > 100 && checks.len() > 40,
        "the scan found too little: {} {}",
        fields.len(),
        checks.len()
    );
    // `validator`'s own codes, named by its derive attributes.
    let derived = ["length", "range"];
    for (code, file) in &fields {
        assert!(
            FIELD_CODES.iter().any(|(c, _)| c == code),
            "{file}: field code {code} is not in FIELD_CODES"
        );
    }
    for (code, file) in &checks {
        assert!(RULE_CHECKS.iter().any(|(c, _)| c == code), "{file}: check {code} is not in RULE_CHECKS");
    }
    for (code, _) in FIELD_CODES {
        assert!(
            derived.contains(code) || fields.iter().any(|(c, _)| c == code),
            "{code} is catalogued but never given"
        );
    }
    for (code, _) in RULE_CHECKS {
        assert!(checks.iter().any(|(c, _)| c == code), "{code} is catalogued but never given");
    }
}

#[test]
fn the_catalogue_is_sorted_and_each_code_once() {
    for list in [FIELD_CODES, RULE_CHECKS] {
        let names: Vec<&str> = list.iter().map(|(c, _)| *c).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }
}

#[test]
fn the_readme_lists_every_code() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    for (code, meaning) in FIELD_CODES.iter().chain(RULE_CHECKS) {
        let row = format!("| `{code}` | {meaning} |");
        assert!(readme.contains(&row), "README lacks the row {row}");
    }
}
