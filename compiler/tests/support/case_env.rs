//! The environment and directives the `.gp` case files are written against: one tracepoint
//! format, a few Go functions and a fixed Go runtime, as a real system would give. Shared by the
//! snapshot tests (`tests/cases.rs`), the tests that compile every case (codegen safety, the
//! kernel-verifier run in `gprobe-runtime`) and the fuzz targets (`fuzz/`).
#![allow(dead_code)]

use gprobe_compiler::check::{Env, GoFunction, Options, tracefs};
use gprobe_compiler::names;
use gprobe_compiler::target::{GoLocation, GoRuntime, GoSite, Resolved};
use gprobe_compiler::types::{AddrSpace, Field, IntType, StructType, Type};
use gprobe_compiler::usdt::{self, UsdtFile, UsdtProbe};
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

/// `sys_enter_nanosleep`: a pointer to a kernel struct in user memory (naptime.bt).
pub const NANOSLEEP_FORMAT: &str = "name: sys_enter_nanosleep
ID: 100
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:struct __kernel_timespec * rqtp;\toffset:16;\tsize:8;\tsigned:0;
\tfield:struct __kernel_timespec * rmtp;\toffset:24;\tsize:8;\tsigned:0;

print fmt: \"rqtp: 0x%08lx\"
";

/// `skb:kfree_skb` (tcpdrop.bt): `void *` addresses and an enum.
pub const KFREE_SKB_FORMAT: &str = "name: kfree_skb
ID: 101
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:void * location;\toffset:16;\tsize:8;\tsigned:0;
\tfield:unsigned short protocol;\toffset:32;\tsize:2;\tsigned:0;
\tfield:enum skb_drop_reason reason;\toffset:36;\tsize:4;\tsigned:0;

print fmt: \"skbaddr=%p\"
";

fn int(bits: u8, signed: bool) -> Type {
    Type::Int(IntType { bits, signed })
}

fn field(name: &str, offset: u64, ty: Type) -> Field {
    Field {
        name: name.into(),
        offset,
        ty,
    }
}

fn kptr(name: &str) -> Type {
    Type::Ptr(Box::new(Type::Named(name.into())), AddrSpace::Kernel)
}

fn array(elem: Type, len: u32) -> Type {
    Type::Array {
        elem: Box::new(elem),
        len,
    }
}

/// A few kernel structs as the runtime converts them from BTF (see
/// `gprobe_runtime::kernel_types`): members by value and pointees by name, anonymous members
/// flattened, bit-fields, `char` arrays as strings. Offsets are made up.
pub fn kernel_struct(name: &str) -> Option<StructType> {
    let (size, fields) = match name {
        "struct task_struct" => (
            9000,
            vec![
                field("__state", 24, int(32, false)),
                field("flags", 44, int(32, false)),
                field("se", 128, Type::Named("struct sched_entity".into())),
                field(
                    "sched_reset_on_fork",
                    1200,
                    Type::BitField {
                        int: IntType::U32,
                        shift: 1,
                        bits: 1,
                    },
                ),
                field(
                    "sched_contributes_to_load",
                    1200,
                    Type::BitField {
                        int: IntType::U32,
                        shift: 2,
                        bits: 1,
                    },
                ),
                field("pid", 2400, int(32, true)),
                field("tgid", 2404, int(32, true)),
                field("real_parent", 2416, kptr("struct task_struct")),
                field("parent", 2424, kptr("struct task_struct")),
                field("comm", 3000, Type::Str { size: 16 }),
                field("thread", 5000, Type::Named("struct thread_struct".into())),
            ],
        ),
        "struct sched_entity" => (
            256,
            vec![
                field("vruntime", 24, int(64, false)),
                field("cfs_rq", 200, kptr("struct cfs_rq")),
            ],
        ),
        "struct cfs_rq" => (
            512,
            vec![
                field("nr_queued", 16, int(32, false)),
                field("h_nr_queued", 20, int(32, false)),
                field("h_nr_runnable", 24, int(32, false)),
            ],
        ),
        "struct thread_struct" => (64, vec![field("fsbase", 40, int(64, false))]),
        "struct sk_buff" => (
            232,
            vec![
                field("sk", 24, kptr("struct sock")),
                field("len", 112, int(32, false)),
            ],
        ),
        "struct sock" => (
            760,
            vec![
                field("__sk_common", 0, Type::Named("struct sock_common".into())),
                field("sk_rcvbuf", 300, int(32, true)),
            ],
        ),
        "struct sock_common" => (
            136,
            vec![
                field("skc_daddr", 0, int(32, false)),
                field("skc_rcv_saddr", 4, int(32, false)),
                field("skc_dport", 12, int(16, false)),
                field("skc_num", 14, int(16, false)),
                field("skc_family", 16, int(16, false)),
                field("skc_state", 18, int(8, false)),
                field("skc_v6_daddr", 56, Type::Named("struct in6_addr".into())),
            ],
        ),
        "struct in6_addr" => (
            16,
            vec![field(
                "in6_u",
                0,
                Type::Struct(StructType {
                    name: String::new(),
                    size: 16,
                    fields: vec![
                        field("u6_addr8", 0, array(int(8, false), 16)),
                        field("u6_addr16", 0, array(int(16, false), 8)),
                        field("u6_addr32", 0, array(int(32, false), 4)),
                    ],
                }),
            )],
        ),
        "struct __kernel_timespec" => (
            16,
            vec![
                field("tv_sec", 0, int(64, true)),
                field("tv_nsec", 8, int(64, true)),
            ],
        ),
        _ => return None,
    };
    Some(StructType {
        name: name
            .trim_start_matches("struct ")
            .trim_start_matches("union ")
            .into(),
        size,
        fields,
    })
}

impl Env for CaseEnv {
    fn kernel_struct(&self, name: &str) -> Option<StructType> {
        kernel_struct(name)
    }

    fn kernel_enum(&self, name: &str) -> Option<i64> {
        match name {
            "SKB_DROP_REASON_NOT_SPECIFIED" => Some(2),
            "BPF_MAP_TYPE_HASH" => Some(1),
            _ => None,
        }
    }

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
        .chain(
            [
                ("raw_syscalls", "sys_enter"),
                ("raw_syscalls", "sys_exit"),
                ("sched", "sched_switch"),
                ("sched", "sched_wakeup"),
            ]
            .iter()
            .map(|(c, n)| (c.to_string(), n.to_string())),
        )
        .collect())
    }

    /// As vmlinux BTF says on x86-64 6.x: sys_enter(regs, id), sched_switch(preempt, prev,
    /// next, prev_state); sched_wakeup as a tracepoint BTF does not know (a module's).
    fn raw_tracepoint(&self, name: &str) -> Result<Option<usize>, String> {
        match name {
            "sys_enter" | "sys_exit" => Ok(Some(2)),
            "sched_switch" => Ok(Some(4)),
            "sched_wakeup" => Ok(None),
            _ => Err(format!("no tracepoint of this kernel is named `{name}`")),
        }
    }

    fn tracepoint_fields(&self, category: &str, name: &str) -> Result<Vec<Field>, String> {
        match (category, name) {
            ("syscalls", "sys_enter_openat") => tracefs::parse_format(OPENAT_FORMAT),
            ("syscalls", "sys_enter_open") => tracefs::parse_format(OPEN_FORMAT),
            ("syscalls", "sys_enter_nanosleep") => tracefs::parse_format(NANOSLEEP_FORMAT),
            ("skb", "kfree_skb") => tracefs::parse_format(KFREE_SKB_FORMAT),
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
            // `/bin/cprog`, a C program built with -g:
            // `long visit(struct outer *o, const char *msg)`.
            "visit" => Ok(GoFunction {
                params: vec![
                    (
                        "o".into(),
                        Type::Ptr(Box::new(Type::Named("outer".into())), AddrSpace::User),
                    ),
                    (
                        "msg".into(),
                        Type::Ptr(Box::new(Type::Int(I8)), AddrSpace::User),
                    ),
                ],
                results: vec![("retval".into(), Type::Int(IntType::I64))],
            }),
            other => Err(format!("no function `{other}` in the binary")),
        }
    }

    /// `/bin/cprog`'s C structs: `struct outer { const char *name; struct inner *s; int n; }`
    /// and `struct inner { int f; long g; }`.
    fn struct_type(&self, name: &str) -> Option<StructType> {
        let field = |name: &str, offset, ty| Field {
            name: name.into(),
            offset,
            ty,
        };
        let i32_ = Type::Int(IntType {
            bits: 32,
            signed: true,
        });
        match name.trim_start_matches("struct ") {
            "outer" => Some(StructType {
                name: "outer".into(),
                size: 24,
                fields: vec![
                    field(
                        "name",
                        0,
                        Type::Ptr(Box::new(Type::Int(I8)), AddrSpace::User),
                    ),
                    field(
                        "s",
                        8,
                        Type::Ptr(Box::new(Type::Named("inner".into())), AddrSpace::User),
                    ),
                    field("n", 16, i32_),
                ],
            }),
            "inner" => Some(StructType {
                name: "inner".into(),
                size: 16,
                fields: vec![field("f", 0, i32_), field("g", 8, Type::Int(IntType::I64))],
            }),
            _ => None,
        }
    }

    /// `/bin/cprog`'s `visit` starts `push %rbx; mov %rdi,%rbx`: +2 is inside an instruction.
    /// Every other function (but `missing*`) takes any offset.
    fn uprobe_at(
        &self,
        binary: Option<&str>,
        function: &str,
        offset: u64,
    ) -> Result<Resolved, String> {
        if function.starts_with("missing") {
            return Err(format!(
                "no function `{function}` in {}",
                binary.unwrap_or("the target")
            ));
        }
        if offset == 2 {
            return Err("offset 0x2 is inside the 3-byte instruction at `visit+0x1` (`mov`); instructions start at +0x1 and +0x4".into());
        }
        Ok(Resolved {
            binary: binary.map(str::to_owned),
            functions: vec![c_site(0x115d + offset, false)],
            go: None,
            per_process: None,
            usdt: Vec::new(),
        })
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
    /// The Go target links `main` and `net/http` (the packages of the functions above).
    fn go_package_linked(&self, binary: Option<&str>, package: &str) -> Option<bool> {
        let c = binary.is_some_and(|b| b.ends_with(".so") || b.starts_with("/bin/"));
        (!c).then(|| package == "main" || package == "net/http")
    }

    fn resolve_uprobe(
        &self,
        binary: Option<&str>,
        function: &str,
        glob: bool,
        _ret: bool,
    ) -> Result<Resolved, String> {
        let c = binary.is_some_and(|b| b.ends_with(".so") || b.starts_with("/bin/"));
        // The target's C function `increment(int *p)` (watchpoints on its argument).
        if binary.is_none() && function == "increment" {
            return Ok(Resolved {
                binary: Some("/proc/1/exe".into()),
                functions: vec![c_site(0x1139, true)],
                go: None,
                per_process: None,
                usdt: Vec::new(),
            });
        }
        if binary == Some("/bin/cprog") && function == "visit" && !_ret {
            return Ok(Resolved {
                binary: binary.map(str::to_owned),
                functions: vec![c_site(0x115d, true)],
                go: None,
                per_process: None,
                usdt: Vec::new(),
            });
        }
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
            usdt: Vec::new(),
        })
    }

    /// C binaries (`/bin/c*`, `*.so`) have no Go runtime.
    fn go_runtime(&self, binary: Option<&str>) -> Result<GoRuntime, String> {
        if binary.is_some_and(|b| b.starts_with("/bin/c") || b.ends_with(".so")) {
            return Err("not a Go binary".into());
        }
        Ok(go_runtime())
    }

    /// `/bin/cprog` (fixed addresses) and `/bin/cpie` (position-independent) have an `int
    /// counter`, a `char flag` and a function `tick`.
    fn user_symbol(
        &self,
        binary: Option<&str>,
        name: &str,
    ) -> Result<gprobe_compiler::native::UserSymbol, String> {
        let pie = match binary {
            Some("/bin/cprog") => false,
            Some("/bin/cpie") => true,
            other => return Err(format!("{}: No such file", other.unwrap_or("the target"))),
        };
        let (vaddr, size) = match name {
            "counter" => (if pie { 0x4010 } else { 0x404028 }, 4),
            "flag" => (if pie { 0x4014 } else { 0x40402c }, 1),
            "tick" => (if pie { 0x1139 } else { 0x401136 }, 20),
            _ => return Err(format!("{} has no symbol `{name}`", binary.unwrap_or(""))),
        };
        Ok(gprobe_compiler::native::UserSymbol {
            vaddr,
            size,
            pie,
            exec_delta: Some(if pie { 0 } else { 0x40_0000 }),
        })
    }

    /// Every binary has USDT probes `app:request(int32, uint64)` (behind a semaphore),
    /// `app:response(int64 in memory, constant)` and `app:start()`, except those named
    /// `*nousdt*`, which have none.
    fn usdt_probes(&self, binary: Option<&str>) -> Result<UsdtFile, String> {
        let path = binary.unwrap_or("/proc/1/exe").to_string();
        if path.contains("nousdt") {
            return Ok(UsdtFile {
                path,
                probes: Vec::new(),
            });
        }
        let probe = |name: &str, offset: u64, semaphore: u64, specs: &[&str]| UsdtProbe {
            provider: "app".into(),
            name: name.into(),
            offset,
            semaphore,
            args: specs.iter().map(|s| usdt::parse_arg(s)).collect(),
        };
        Ok(UsdtFile {
            path,
            probes: vec![
                probe("request", 0x1130, 0x3010, &["-4@%edi", "8@%rsi"]),
                probe("response", 0x1180, 0, &["-8@-16(%rbp)", "-4@$3"]),
                probe("start", 0x11a0, 0, &[]),
            ],
        })
    }

    fn task_fsbase(&self) -> Option<u64> {
        Some(5000)
    }
}

const I8: IntType = IntType {
    bits: 8,
    signed: true,
};

/// `visit`'s entry (with `o` in rdi and `msg` in rsi) or a site inside it.
fn c_site(offset: u64, entry: bool) -> GoSite {
    let reg = |pt_regs| {
        GoLocation::Registers(vec![gprobe_compiler::target::RegSlot {
            pt_regs,
            offset: 0,
            size: 8,
        }])
    };
    GoSite {
        name: "visit".into(),
        offsets: vec![offset],
        abi_internal: false,
        caller_at_sp: false,
        params: if entry {
            vec![("o".into(), reg(112)), ("msg".into(), reg(104))]
        } else {
            Vec::new()
        },
        results: Vec::new(),
        native: true,
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
        g_sched_pc: 64,
        g_sched_bp: 104,
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
            options.unsafe_allowed = true;
        }
    }
    options.requires = gprobe_compiler::check::Requirement::from_header(source);
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
