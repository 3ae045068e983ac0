//! The layer rule of the crate documentation, checked: every `crate::` path in `src/` must
//! name a module on a lower floor than (or the same module as) the file it is written in, and
//! no module below the faces may name `actix_web` or `actix_http`. Reads the source as text,
//! the way a reviewer would, so it runs with the rest of the unit tests and needs no tool.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

/// Floors, from the ground up. A module may use its own floor's siblings only where listed
/// as lower here; the ranks are the order of the crate documentation's picture.
const FLOORS: &[(&str, u8)] = &[
    ("domain", 0),
    ("i18n", 0),
    ("clock", 1),
    ("config", 1),
    ("telemetry", 1),
    ("store", 2),
    ("db", 2),
    ("notify", 2),
    ("oidc", 3),
    ("audit", 3),
    ("logout", 4),
    ("session", 5),
    ("account", 6),
    ("oauth", 6),
    ("admin", 7),
    ("state", 8),
    ("web", 9),
    ("startup", 10),
    ("cli", 11),
];

/// Floors at or below this are the core and everything under it: no web framework there.
const HIGHEST_CORE_FLOOR: u8 = 7;

/// Files that are not part of a floor: the crate root and test-only code.
const OUTSIDE: &[&str] = &["lib.rs", "main.rs", "layers.rs", "proptests.rs"];

fn floor(module: &str) -> Option<u8> {
    FLOORS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, floor)| *floor)
}

/// The top-level module a file under `src/` belongs to: `oauth/engine.rs` → `oauth`.
fn module_of(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_owned()
}

/// The code of a file without its comments (`//`, `///`, `//!`, `/* */`), so that prose about
/// another module is not an import. String literals are kept: none of them spells a path.
fn without_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.find('\n').map_or("", |end| &after[end..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The top-level modules that `code` names through `crate::`: plain paths
/// (`crate::db::Db`) and the first segment of every item of a group
/// (`use crate::{db::Db, clock::Clock}`), however deeply grouped.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '$')) {
            continue; // `$crate::`, `other_crate::`, or `::crate::` spelled oddly
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        rest = &group[i..];
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        item_start = false;
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        found.insert(name);
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn names_the_web_framework(code: &str) -> bool {
    code.contains("actix_web") || code.contains("actix_http")
}

fn rust_files(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(folder).expect("src/ is readable") {
        let path = entry.expect("src/ entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Every breach of the rule in the crate's `src/`, one line each.
fn breaches(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for path in files {
        let relative = path.strip_prefix(src).expect("under src/");
        if OUTSIDE.iter().any(|outside| relative == Path::new(outside)) {
            continue;
        }
        let module = module_of(relative);
        let Some(own) = floor(&module) else {
            found.push(format!(
                "{}: module `{module}` is on no floor (add it to FLOORS and the crate docs)",
                relative.display()
            ));
            continue;
        };
        let code = without_comments(&fs::read_to_string(&path).expect("readable source"));
        for used in crate_modules(&code) {
            if used == module {
                continue;
            }
            match floor(&used) {
                Some(theirs) if theirs < own => {}
                Some(_) => found.push(format!(
                    "{}: `{module}` imports `crate::{used}`, which is not on a lower floor",
                    relative.display()
                )),
                None if OUTSIDE.contains(&format!("{used}.rs").as_str()) => found.push(format!(
                    "{}: `{module}` imports test-only `crate::{used}`",
                    relative.display()
                )),
                // Items of the crate root itself, such as macros, are not modules.
                None => {}
            }
        }
        if own <= HIGHEST_CORE_FLOOR && names_the_web_framework(&code) {
            found.push(format!(
                "{}: `{module}` is below the faces but names the web framework",
                relative.display()
            ));
        }
    }
    found
}

#[test]
fn every_import_points_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = breaches(&src);
    assert!(
        found.is_empty(),
        "the layer rule (src/lib.rs) is broken:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_top_level_module_is_on_a_floor() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if OUTSIDE.contains(&name.as_str()) {
            continue;
        }
        let module = name.trim_end_matches(".rs");
        assert!(floor(module).is_some(), "`{module}` is on no floor");
    }
}

#[test]
fn the_reader_sees_paths_groups_and_not_comments() {
    let code = without_comments(
        "use crate::{db::{Db, models::x}, clock::Clock};\n\
         // crate::web is only mentioned here\n\
         /* and crate::state here */\n\
         fn f() { crate::audit::record(); let _ = $crate::x; }\n",
    );
    let found: Vec<_> = crate_modules(&code).into_iter().collect();
    assert_eq!(found, ["audit", "clock", "db"]);
}

#[test]
fn the_check_catches_an_upward_import_and_the_web_framework() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    fs::create_dir_all(src.join("oauth")).unwrap();
    fs::write(src.join("domain.rs"), "use crate::config::Settings;\n").unwrap();
    fs::write(
        src.join("oauth/token.rs"),
        "use crate::{db::Db, state::AppState};\nfn f() { actix_web::web::block(|| ()); }\n",
    )
    .unwrap();
    fs::write(
        src.join("web.rs"),
        "use crate::{oauth::Context, state::AppState};\n",
    )
    .unwrap();
    let found = breaches(src);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].contains("`domain` imports `crate::config`"));
    assert!(found[1].contains("`oauth` imports `crate::state`"));
    assert!(found[2].contains("names the web framework"));
}
