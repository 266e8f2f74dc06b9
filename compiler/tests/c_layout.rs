//! The layout of the program's C definitions (`gprobe_compiler::ctypes`) against gcc's: the
//! same definitions are compiled into a C program printing `sizeof`, `_Alignof`, `offsetof`
//! of every member and the bit position and width of every bit-field (found by setting the
//! field in a zeroed value), and both listings must be equal. Needs gcc (`scripts/install-deps`
//! installs it); without it the test fails under CI and is skipped elsewhere.

use gprobe_compiler::ctypes::{CTypes, build};
use gprobe_compiler::types::Type;
use std::fmt::Write as _;
use std::process::Command;

/// Definitions valid both as C and in a gprobe program, covering alignment, padding, tail
/// padding, arrays (multi-dimensional, of structs), pointers, function pointers, bit-fields
/// (packing, straddling, `:0`, unnamed, bool, 64-bit), unions, enums, typedefs, anonymous
/// members, and `packed`/`aligned(N)` on records and members.
const DEFS: &str = r#"
struct point { short x; short y; };
struct shape {
  char kind;
  long long id;
  struct point corners[4];
  char grid[3][5];
  struct shape *next;
  struct shape **all;
  int (*area)(struct shape *, int);
  double scale;
  char tail;
};
struct flags {
  unsigned int a : 3;
  unsigned int b : 30;
  unsigned char c : 7;
  int : 0;
  short d : 5;
  int : 4;
  long long e : 40;
  _Bool on : 1;
};
struct mixed_bits { char c; int x : 7; int y : 20; char after; long z : 33; short s : 3; };
struct only_bits { unsigned char a : 1; unsigned char b : 2; };
union value { char c; int i; long l; char bytes[13]; };
struct tagged { int tag; union value v; char last; };
enum color { RED, GREEN = 5, BLUE, MASK = (BLUE << 4) | 1, NEG = -2 };
enum big { HUGE = 0x100000000 };
struct pixel { enum color c; enum big b; char end; enum color bits : 4; };
typedef unsigned int myint;
struct node { myint id; u8 flags; uint64_t total; size_t len; pid_t pid; s16 small; };
typedef struct node node_t;
typedef struct node *node_ptr;
struct holder { node_ptr first; node_t copy; char n; };
struct packet {
  int kind;
  union {
    struct { short sport; short dport; };
    long raw;
  };
  struct { char a; int b; } pair;
  char flex[];
};
struct deep { char c; struct packet p; struct tagged t[2]; unsigned short end; };
union mixed { struct point pt; double d; char s[10]; int bits : 5; };
struct __attribute__((packed)) pk { char c; int i; short s; long long l; };
struct pk_bits { char c; int x : 7; int y : 20; long z : 40; struct point pt; } __attribute__((packed));
struct al { char c; int i __attribute__((aligned(16))); char d; } __attribute__((aligned(32)));
struct holds_pk { char c; struct pk p; struct al a; struct pk_bits b; };
struct mpk { char c; int i __attribute__((packed)); short s; long l __attribute__((__aligned__(4))); };
union __attribute__((aligned)) ual { char c[3]; };
"#;

/// The well-known typedefs the definitions use, for gcc (gprobe knows them).
const C_PRELUDE: &str = "#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n\
    #include <string.h>\n#include <sys/types.h>\n\
    typedef uint8_t u8; typedef int16_t s16;\n";

/// One line per fact, the same format from both sides.
fn gprobe_listing(c: &CTypes) -> String {
    let mut out = String::new();
    for key in &c.order {
        let r = &c.records[key];
        if !r.named {
            continue;
        }
        let _ = writeln!(out, "{key} size {} align {}", r.size, r.align);
        let s = c.struct_type(key).expect("laid out");
        members(&mut out, key, "", 0, &s.fields);
    }
    out
}

fn members(
    out: &mut String,
    key: &str,
    prefix: &str,
    base: u64,
    fields: &[gprobe_compiler::types::Field],
) {
    for f in fields {
        let path = format!("{prefix}{}", f.name);
        match &f.ty {
            Type::BitField { shift, bits, .. } => {
                let _ = writeln!(
                    out,
                    "{key} {path} bit {} {bits}",
                    (base + f.offset) * 8 + u64::from(*shift)
                );
            }
            Type::Struct(inner) => {
                let _ = writeln!(out, "{key} {path} at {}", base + f.offset);
                members(
                    out,
                    key,
                    &format!("{path}."),
                    base + f.offset,
                    &inner.fields,
                );
            }
            _ => {
                let _ = writeln!(out, "{key} {path} at {}", base + f.offset);
            }
        }
    }
}

/// The C program printing gcc's answers for the members gprobe lists.
fn c_program(c: &CTypes) -> String {
    let mut body = String::new();
    for key in &c.order {
        let r = &c.records[key];
        if !r.named {
            continue;
        }
        let _ = writeln!(
            body,
            "  printf(\"{key} size %zu align %zu\\n\", sizeof({key}), _Alignof({key}));"
        );
        let s = c.struct_type(key).expect("laid out");
        c_members(&mut body, key, "", &s.fields);
    }
    format!(
        "{C_PRELUDE}{DEFS}\n\
         static void bit(const char *what, const unsigned char *p, size_t n) {{\n\
           int first = -1, count = 0;\n\
           for (size_t i = 0; i < n * 8; i++) if (p[i / 8] >> (i % 8) & 1) {{ if (first < 0) first = i; count++; }}\n\
           printf(\"%s bit %d %d\\n\", what, first, count);\n\
         }}\n\
         int main(void) {{\n{body}  return 0;\n}}\n"
    )
}

fn c_members(body: &mut String, key: &str, prefix: &str, fields: &[gprobe_compiler::types::Field]) {
    for f in fields {
        let path = format!("{prefix}{}", f.name);
        match &f.ty {
            Type::BitField { .. } => {
                let _ = writeln!(
                    body,
                    "  {{ {key} v; memset(&v, 0, sizeof v); v.{path} = -1; bit(\"{key} {path}\", (const unsigned char *)&v, sizeof v); }}"
                );
            }
            other => {
                let _ = writeln!(
                    body,
                    "  printf(\"{key} {path} at %zu\\n\", offsetof({key}, {path}));"
                );
                if let Type::Struct(inner) = other {
                    c_members(body, key, &format!("{path}."), &inner.fields);
                }
            }
        }
    }
}

#[test]
fn layouts_match_gcc() {
    let source = format!("{DEFS}\nBEGIN {{ exit(); }}\n");
    let program = gprobe_compiler::syntax::parse(&source).expect("the definitions parse");
    let (c, errors) = build(&program.c_defs);
    assert!(errors.is_empty(), "layout errors: {errors:?}");
    let ours = gprobe_listing(&c);
    assert!(ours.lines().count() > 80, "too few facts compared:\n{ours}");

    if Command::new("gcc").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "gcc is missing (scripts/install-deps installs it)"
        );
        eprintln!("skipped: no gcc");
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_layout");
    std::fs::create_dir_all(&dir).unwrap();
    let (src, bin) = (dir.join("layout.c"), dir.join("layout"));
    std::fs::write(&src, c_program(&c)).unwrap();
    let built = Command::new("gcc")
        .args(["-std=gnu11", "-O0", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("runs gcc");
    assert!(
        built.status.success(),
        "gcc failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = Command::new(&bin)
        .output()
        .expect("runs the layout program");
    assert!(run.status.success());
    let theirs = String::from_utf8(run.stdout).unwrap();
    let diff: Vec<String> = ours
        .lines()
        .zip(theirs.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("gprobe: {a}\n   gcc: {b}"))
        .collect();
    assert!(
        diff.is_empty(),
        "layouts differ from gcc's:\n{}",
        diff.join("\n")
    );
    assert_eq!(ours.lines().count(), theirs.lines().count());
}
