//! The generated and hand-written references stay in step with the code they describe.

mod support;

use std::process::Command;
use support::*;

/// docs/builtins.md is exactly what `gprobe --builtins` prints from the builtin table.
/// Regenerate with `cargo run -q -- --builtins > docs/builtins.md`.
#[test]
fn builtins_reference_is_generated_from_the_table() {
    let out = Command::new(gprobe_bin())
        .arg("--builtins")
        .output()
        .unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(repo_root().join("docs/builtins.md")).unwrap();
    assert!(
        text(&out.stdout) == committed,
        "docs/builtins.md is stale: run `cargo run -q -- --builtins > docs/builtins.md`"
    );
}

/// Every recipe `gprobe --recipes` lists has a section in docs/recipes.md.
#[test]
fn every_recipe_is_documented() {
    let out = Command::new(gprobe_bin())
        .arg("--recipes")
        .output()
        .unwrap();
    assert!(out.status.success());
    let listing = text(&out.stdout);
    let page = std::fs::read_to_string(repo_root().join("docs/recipes.md")).unwrap();
    let names: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.len() >= 9, "too few recipes: {listing}");
    for name in names {
        assert!(
            page.contains(&format!("## {name}")),
            "docs/recipes.md lacks `## {name}`"
        );
    }
}
