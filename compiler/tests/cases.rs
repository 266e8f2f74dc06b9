//! One `.gp` file per parser/checker behaviour under `tests/cases/{parse,check}/{ok,err}/`.
//! `ok` cases must pass the front end and snapshot the checked AST dump; `err` cases must fail
//! and snapshot the rendered diagnostics (no colour). A case may start with directive comments:
//! `// args: a b` (positional parameters), `// target` (as if `-p`/`-c` were given) and
//! `// binaries: A B` (the files binary patterns match, as if those programs were running) and
//! `// unsafe` (as if --unsafe were given).

#[path = "support/case_env.rs"]
mod case_env;

use case_env::{CaseEnv, options_for};
use std::path::Path;

#[test]
fn case_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let paths = case_env::case_files(&root);
    assert!(
        paths.len() > 60,
        "expected the case files under {}",
        root.display()
    );
    let mut failures = Vec::new();
    for path in &paths {
        let relative = path.strip_prefix(&root).unwrap_or(path);
        let name = relative
            .with_extension("")
            .to_string_lossy()
            .replace('/', "__");
        let source = std::fs::read_to_string(path).unwrap_or_default();
        let shown = relative.to_string_lossy().into_owned();
        let expect_ok = relative.components().any(|c| c.as_os_str() == "ok");
        let options = options_for(&source);
        let parse_options = gprobe_compiler::syntax::ParseOptions {
            positional: options.positional.clone(),
            include_dirs: Vec::new(),
            defines: Vec::new(),
        };
        let mut warnings = Vec::new();
        let checked =
            gprobe_compiler::parse_with(&source, &parse_options).and_then(|mut program| {
                case_env::expand_patterns(&mut program, &source);
                let (result, w) =
                    gprobe_compiler::check::check_with_warnings(&mut program, &CaseEnv, &options);
                warnings = w;
                result.map(|_| program)
            });
        let (passed, output) = match checked {
            // Warnings, if any, follow the checked tree.
            Ok(program) if warnings.is_empty() => {
                (true, gprobe_compiler::dump::ast(&program, &source))
            }
            Ok(program) => (
                true,
                format!(
                    "{}\n{}",
                    gprobe_compiler::dump::ast(&program, &source),
                    gprobe_compiler::diag::render(&warnings, &shown, &source, false)
                ),
            ),
            Err(diagnostics) => (
                false,
                gprobe_compiler::diag::render(&diagnostics, &shown, &source, false),
            ),
        };
        if passed != expect_ok {
            failures.push(format!(
                "{shown}: expected {}, got:\n{output}",
                if expect_ok { "success" } else { "errors" }
            ));
            continue;
        }
        insta::with_settings!({
            snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"),
            prepend_module_to_snapshot => false,
            input_file => path,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, output);
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
