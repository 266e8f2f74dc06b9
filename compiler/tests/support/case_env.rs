//! The environment and directives the `.gp` case files are written against: one tracepoint
//! format, a few Go functions and a fixed Go runtime, as a real system would give. Shared by the
//! snapshot tests (`tests/cases.rs`), the tests that compile every case (codegen safety, the
//! kernel-verifier run in `gprobe-runtime`) and the fuzz targets (`fuzz/`).
#![allow(dead_code)]

use gprobe_compiler::check::{Env, GoFunction, Options, tracefs};
use gprobe_compiler::names;
use gprobe_compiler::target::{GoRuntime, Resolved};
use gprobe_compiler::types::{Field, IntType, Type};
use std::path::{Path, PathBuf};

/// A fixed environment: one tracepoint format and one Go function, as a real system would give.
pub struct CaseEnv;

pub const OPENAT_FORMAT: &str = "name: sys_enter_openat
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

/// `sys_enter_open`: like openat without `dfd`, so its fields sit at other offsets.
pub const OPEN_FORMAT: &str = "name: sys_enter_open
ID: 722
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:const char * filename;\toffset:16;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:24;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:32;\tsize:8;\tsigned:0;

print fmt: \"filename: 0x%08lx\"
";

impl Env for CaseEnv {
    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        match name {
            "avenrun" => Ok(0xffff_ffff_8300_1000),
            _ => Err(format!("`{name}` is not in /proc/kallsyms")),
        }
    }

    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        match path {
            "/sys/fs/cgroup/system.slice" => Ok(42),
            _ => Err(format!("{path}: No such file or directory (os error 2)")),
        }
    }

    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok([
            "sys_enter_open",
            "sys_enter_openat",
            "sys_exit_open",
            "sys_exit_openat",
        ]
        .iter()
        .map(|n| ("syscalls".to_string(), n.to_string()))
        .collect())
    }

    fn tracepoint_fields(&self, category: &str, name: &str) -> Result<Vec<Field>, String> {
        match (category, name) {
            ("syscalls", "sys_enter_openat") => tracefs::parse_format(OPENAT_FORMAT),
            ("syscalls", "sys_enter_open") => tracefs::parse_format(OPEN_FORMAT),
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

    /// The wildcard functions are those of `go_function` plus `main.workers(id int, n int)`
    /// and `net/http.(*http2responseWriterState).writeHeader(rws *T, code int)`; they share the
    /// parameters with the same name and type (a real binary also compares ABI locations).
    fn go_function_glob(&self, binary: Option<&str>, pattern: &str) -> Result<GoFunction, String> {
        let extra = |name: &str| -> Option<GoFunction> {
            let params = match name {
                "main.workers" => vec![
                    ("id".into(), Type::Int(IntType::I64)),
                    ("n".into(), Type::Int(IntType::I64)),
                ],
                "net/http.(*http2responseWriterState).writeHeader" => vec![
                    ("rws".into(), Type::Int(IntType::U64)),
                    ("code".into(), Type::Int(IntType::I64)),
                ],
                _ => return None,
            };
            Some(GoFunction {
                params,
                results: vec![],
            })
        };
        let all = [
            "main.work",
            "main.workers",
            "net/http.(*response).WriteHeader",
            "net/http.(*http2responseWriterState).writeHeader",
        ];
        let matched: Vec<GoFunction> = all
            .iter()
            .filter(|name| names::glob_match(pattern, name))
            .map(|name| {
                extra(name)
                    .map(Ok)
                    .unwrap_or_else(|| self.go_function(binary, name))
            })
            .collect::<Result<_, _>>()?;
        let Some((first, rest)) = matched.split_first() else {
            return Err(format!("no Go function matches `{pattern}`"));
        };
        let shared = |pick: fn(&GoFunction) -> &Vec<(String, Type)>| {
            pick(first)
                .iter()
                .filter(|p| rest.iter().all(|f| pick(f).contains(p)))
                .cloned()
                .collect::<Vec<_>>()
        };
        let f = GoFunction {
            params: shared(|f| &f.params),
            results: shared(|f| &f.results),
        };
        if f.params.is_empty() && f.results.is_empty() && !rest.is_empty() {
            return Err(format!(
                "the functions matching `{pattern}` have no parameter or result in common"
            ));
        }
        Ok(f)
    }

    /// Files named `*.txt` hold text, as `/etc/passwd` does: no uprobe can go in.
    fn uprobe_binary(&self, binary: Option<&str>) -> Result<(), String> {
        match binary {
            Some(b) if b.ends_with(".txt") => Err(format!("{b} is not an ELF executable")),
            _ => Ok(()),
        }
    }

    /// Binaries named `*.so` or `/bin/*` are C; everything else is a Go binary with `main.*`
    /// (Go 1.19 when the name contains `go1.19`, else Go 1.23).
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
            KNOWN.iter().any(|k| names::glob_match(function, k))
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
            go: (!c).then(|| {
                if binary.is_some_and(|b| b.contains("go1.19")) {
                    go119_runtime()
                } else {
                    go_runtime()
                }
            }),
            per_process: None,
        })
    }

    fn go_runtime(&self, _binary: Option<&str>) -> Result<GoRuntime, String> {
        Ok(go_runtime())
    }

    fn task_fsbase(&self) -> Option<u64> {
        Some(5000)
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
        task_fsbase: None,
    }
}

/// Go 1.19 (binaries named `*go1.19*`): no `g.parentGoid` yet.
fn go119_runtime() -> GoRuntime {
    GoRuntime {
        version: "go1.19.8".into(),
        g_goid: 152,
        g_parent_goid: None,
        g_gopc: Some(296),
        ..go_runtime()
    }
}

/// Every `.gp` file under `dir`, sorted.
pub fn case_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "gp") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// The `// args:` and `// target` directives at the top of a case file.
pub fn options_for(source: &str) -> Options {
    let mut options = Options::default();
    for line in source.lines().take_while(|l| l.starts_with("//")) {
        if let Some(args) = line.strip_prefix("// args:") {
            options.positional = args.split_whitespace().map(String::from).collect();
        } else if line.trim() == "// target" {
            options.has_target = true;
        } else if line.trim() == "// unsafe" {
            options.unsafe_ops = true;
        }
    }
    options
}

/// Expands the case's binary patterns (`uprobe:*:FUNC`) to the binaries its `// binaries: A B`
/// directive names (none without it), as the CLI does with what runs on the machine.
pub fn expand_patterns(program: &mut gprobe_compiler::ast::Program, source: &str) {
    let binaries: Vec<String> = source
        .lines()
        .take_while(|l| l.starts_with("//"))
        .find_map(|l| l.strip_prefix("// binaries:"))
        .map(|list| list.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    gprobe_compiler::expand::expand_patterns(program, &mut |q| {
        gprobe_compiler::expand::PatternMatch {
            pattern: q.binary.to_owned(),
            binaries: binaries
                .iter()
                .filter(|b| names::path_glob_match(q.binary, b))
                .cloned()
                .collect(),
        }
    });
}

/// Every `ok` case under `root` that the whole compiler accepts: its path relative to `root`,
/// its source and the compiler's output. Cases the back end cannot lower yet are the compiler tests' concern.
pub fn compiled_ok_cases(root: &Path) -> Vec<(PathBuf, String, gprobe_compiler::Output)> {
    case_files(root)
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            if !relative.components().any(|c| c.as_os_str() == "ok") {
                return None;
            }
            let source = std::fs::read_to_string(&path).expect("read case");
            let options = gprobe_compiler::CompileOptions {
                check: options_for(&source),
                ..Default::default()
            };
            let out = gprobe_compiler::compile(&source, &CaseEnv, &options).ok()?;
            Some((relative, source, out))
        })
        .collect()
}
