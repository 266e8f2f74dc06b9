//! One `.gp` file per parser/checker behaviour under `tests/cases/{parse,check}/{ok,err}/`.
//! `ok` cases must pass the front end and snapshot the checked AST dump; `err` cases must fail
//! and snapshot the rendered diagnostics (no colour). A case may start with directive comments:
//! `// args: a b` (positional parameters) and `// target` (as if `-p`/`-c` were given).

use gprobe_compiler::check::{Env, GoFunction, Options, tracefs};
use gprobe_compiler::target::{GoRuntime, Resolved};
use gprobe_compiler::types::{Field, IntType, Type};
use std::path::{Path, PathBuf};

/// A fixed environment: one tracepoint format and one Go function, as a real system would give.
struct TestEnv;

const OPENAT_FORMAT: &str = "name: sys_enter_openat
ID: 720
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;

print fmt: \"dfd: 0x%08lx\"
";

impl Env for TestEnv {
    fn tracepoint_fields(&self, category: &str, name: &str) -> Result<Vec<Field>, String> {
        match (category, name) {
            ("syscalls", "sys_enter_openat") => tracefs::parse_format(OPENAT_FORMAT),
            _ => Err(format!(
                "/sys/kernel/tracing/events/{category}/{name}/format does not exist"
            )),
        }
    }

    fn go_function(&self, _binary: Option<&str>, function: &str) -> Result<GoFunction, String> {
        match function {
            "net/http.(*response).WriteHeader" => Ok(GoFunction {
                params: vec![
                    ("w".into(), Type::Int(IntType::U64)),
                    ("code".into(), Type::Int(IntType::I64)),
                ],
                results: vec![],
            }),
            "main.work" => Ok(GoFunction {
                params: vec![
                    ("id".into(), Type::Int(IntType::I64)),
                    ("name".into(), Type::GoString),
                ],
                results: vec![
                    ("~r0".into(), Type::Int(IntType::I64)),
                    ("~r1".into(), Type::GoInterface),
                ],
            }),
            other => Err(format!("no function `{other}` in the binary")),
        }
    }

    /// Binaries named `*.so` or `/bin/*` are C; everything else is a Go binary with `main.*`.
    fn resolve_uprobe(
        &self,
        binary: Option<&str>,
        function: &str,
        glob: bool,
        _ret: bool,
    ) -> Result<Resolved, String> {
        let c = binary.is_some_and(|b| b.ends_with(".so") || b.starts_with("/bin/"));
        // A glob must match one of these; a literal name must be one of them or any other name
        // without `*`, except names starting with "missing".
        const KNOWN: [&str; 3] = [
            "main.work",
            "net/http.(*conn).serve",
            "net/http.(*response).WriteHeader",
        ];
        let found = if glob {
            KNOWN.iter().any(|k| glob_match(function, k))
        } else {
            KNOWN.contains(&function)
                || !(function.starts_with("missing") || function.contains('*'))
        };
        if !c && !found {
            return Err(if glob {
                format!("no function of this Go binary matches `{function}`")
            } else {
                format!("no function `{function}` in this Go binary; nearest: main.main, main.work")
            });
        }
        Ok(Resolved {
            binary: binary.map(str::to_owned),
            functions: Vec::new(),
            go: (!c).then(go_runtime),
        })
    }

    fn go_runtime(&self, _binary: Option<&str>) -> Result<GoRuntime, String> {
        Ok(go_runtime())
    }
}

/// `*` matches any run of characters, `?` one character.
fn glob_match(pattern: &str, name: &str) -> bool {
    match pattern.chars().next() {
        None => name.is_empty(),
        Some('*') => (0..=name.len())
            .filter(|i| name.is_char_boundary(*i))
            .any(|i| glob_match(&pattern[1..], &name[i..])),
        Some(c) => {
            name.chars().next().is_some_and(|n| c == '?' || c == n)
                && glob_match(
                    &pattern[c.len_utf8()..],
                    &name[name.chars().next().map_or(0, char::len_utf8)..],
                )
        }
    }
}

fn go_runtime() -> GoRuntime {
    GoRuntime {
        version: "go1.23.9".into(),
        g_goid: 160,
        g_m: 48,
        g_parent_goid: Some(280),
        g_gopc: Some(288),
        m_g0: 0,
        m_curg: 192,
        tls_g: -8,
        task_fsbase: Some(5000),
    }
}

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            cases(&path, out);
        } else if path.extension().is_some_and(|e| e == "gp") {
            out.push(path);
        }
    }
}

fn options_for(source: &str) -> Options {
    let mut options = Options::default();
    for line in source.lines().take_while(|l| l.starts_with("//")) {
        if let Some(args) = line.strip_prefix("// args:") {
            options.positional = args.split_whitespace().map(String::from).collect();
        } else if line.trim() == "// target" {
            options.has_target = true;
        }
    }
    options
}

#[test]
fn case_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut paths = Vec::new();
    cases(&root, &mut paths);
    paths.sort();
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
        let (passed, output) =
            match gprobe_compiler::front_end(&source, &TestEnv, &options_for(&source)) {
                Ok((program, _)) => (true, gprobe_compiler::dump::ast(&program, &source)),
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
