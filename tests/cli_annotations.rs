//! `// @metric` annotations through the CLI: each case under `tests/annotations/` is a program
//! whose annotations are wrong in one way; `gprobe --check` must fail with exit code 1 and
//! diagnostics pointing at the annotation (snapshots in `tests/snapshots/`). A good
//! annotation passes `--check`.

use std::path::Path;
use std::process::Command;

fn check(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gprobe"))
        .arg("--check")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run gprobe")
}

#[test]
fn bad_annotations_are_diagnostics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cases: Vec<_> = std::fs::read_dir(root.join("tests/annotations"))
        .expect("tests/annotations")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "gp"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 3, "expected the cases in tests/annotations");
    for path in cases {
        let relative = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let out = Command::new(env!("CARGO_BIN_EXE_gprobe"))
            .current_dir(root)
            .args(["--check", &relative])
            .env("NO_COLOR", "1")
            .output()
            .expect("run gprobe");
        assert_eq!(out.status.code(), Some(1), "{relative} must fail");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(stderr.contains("error[E0900]"), "{relative}: {stderr}");
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        insta::with_settings!({
            snapshot_path => root.join("tests/snapshots"),
            prepend_module_to_snapshot => false,
            input_file => &path,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("annotations__{name}"), stderr);
        });
    }
}

#[test]
fn good_annotations_pass_check() {
    let out = check(&[
        "-e",
        "// @metric @lat op.duration unit=ns keys=op desc=\"Time per op.\"\n\
         BEGIN { @lat[\"x\"] = hist(5); @n = count(); }\n\
         // @metric @n ops unit={op}",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
