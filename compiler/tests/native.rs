//! The non-Go ELF reader against a C program gcc builds here: symbols, C signatures and struct
//! layouts from DWARF, System V argument registers, and instruction boundaries.

use gprobe_compiler::native::NativeElf;
use gprobe_compiler::target::GoLocation;
use gprobe_compiler::types::{IntType, Type};
use std::path::PathBuf;
use std::process::Command;

const SRC: &str = r#"
struct inner { int f; long g; };
typedef struct { int a; char tag[8]; } pair_t;
struct outer { const char *name; struct inner *s; int n; pair_t p; };
__attribute__((noipa)) long visit(struct outer *o, const char *msg) { return o->s->f + msg[0]; }
__attribute__((noipa)) int many(int a, int b, int c, int d, int e, int f, int g) { return a + g; }
__attribute__((noipa)) double half(double x, int n) { return x / n; }
int main(void) { return 0; }
"#;

/// The program, or `None` (skipped) without gcc outside CI.
/// Built once: the tests run in parallel, and one must not open `prog` while another's gcc
/// rewrites it (a truncated ELF failed `instruction_boundaries`).
fn build() -> Option<PathBuf> {
    static BUILT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BUILT.get_or_init(build_now).clone()
}

fn build_now() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("native");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("prog.c");
    let out = dir.join("prog");
    std::fs::write(&src, SRC).unwrap();
    match Command::new("gcc")
        .args(["-g", "-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
    {
        Ok(s) if s.success() => Some(out),
        _ if std::env::var_os("CI").is_some() => panic!("gcc failed or is missing"),
        _ => {
            eprintln!("skipped: gcc is missing");
            None
        }
    }
}

#[test]
fn c_signatures_layouts_and_locations() {
    let Some(prog) = build() else { return };
    let elf = NativeElf::open(&prog).unwrap();
    let visit = elf.function("visit").unwrap();
    let spelled: Vec<(&str, &str)> = visit
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.c_type.as_str()))
        .collect();
    assert_eq!(spelled, [("o", "struct outer*"), ("msg", "const char*")]);
    assert_eq!(
        visit.params[0].ty,
        Type::Ptr(
            Box::new(Type::Named("outer".into())),
            gprobe_compiler::types::AddrSpace::User
        )
    );
    assert_eq!(visit.ret.as_ref().unwrap().ty, Type::Int(IntType::I64));
    let outer = elf.struct_type("outer").unwrap();
    let fields: Vec<(&str, u64)> = outer
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.offset))
        .collect();
    assert_eq!(fields, [("name", 0), ("s", 8), ("n", 16), ("p", 20)]);
    assert_eq!(outer.size, 32);
    let pair = elf.struct_type("pair_t").unwrap();
    assert_eq!(pair.fields[1].ty, Type::Buf { size: 8 });
    // rdi, rsi, ... r9, then the stack above the return address.
    let sym = elf.symbol("many").unwrap().clone();
    let site = elf.site("many", 0, Some(&elf.function("many").unwrap()));
    let regs: Vec<GoLocation> = site.params.iter().map(|(_, l)| l.clone()).collect();
    let pt = |l: &GoLocation| match l {
        GoLocation::Registers(r) => r[0].pt_regs as i64,
        GoLocation::Stack { offset } => -(*offset as i64),
        GoLocation::Unavailable => i64::MIN,
    };
    let got: Vec<i64> = regs.iter().map(pt).collect();
    assert_eq!(got, [112, 104, 96, 88, 72, 64, -8]);
    assert!(sym.size > 0);
    // A double goes in xmm0, which pt_regs does not hold; `n` after it is given up too.
    let half = elf.site("half", 0, Some(&elf.function("half").unwrap()));
    assert!(
        half.params
            .iter()
            .all(|(_, l)| *l == GoLocation::Unavailable)
    );
    // Nearest names for a typo.
    let err = elf.function("vist").unwrap_err();
    assert!(err.contains("`visit`"), "{err}");
}

#[test]
fn instruction_boundaries() {
    let Some(prog) = build() else { return };
    let elf = NativeElf::open(&prog).unwrap();
    let visit = elf.symbol("visit").unwrap().clone();
    // Walk the function's instructions with iced-x86 and compare every offset.
    let code = std::fs::read(&prog).unwrap();
    let file_off = elf.vaddr_to_file_offset(visit.addr).unwrap() as usize;
    let bytes = &code[file_off..file_off + visit.size as usize];
    let mut decoder = iced_x86::Decoder::with_ip(64, bytes, 0, iced_x86::DecoderOptions::NONE);
    let mut starts = Vec::new();
    while decoder.can_decode() {
        starts.push(decoder.ip());
        let _ = decoder.decode();
    }
    assert!(starts.len() > 2);
    for off in 0..visit.size {
        let ok = elf.check_boundary(&visit, off).is_ok();
        assert_eq!(ok, starts.contains(&off), "offset {off}");
    }
    let past = elf.check_boundary(&visit, visit.size + 4).unwrap_err();
    assert!(past.contains("past the end"), "{past}");
}
