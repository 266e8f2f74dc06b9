//! The front end must never panic and must terminate, whatever the input: arbitrary bytes, and
//! valid programs with bytes deleted, duplicated or replaced.

use gprobe_compiler::check::{NoEnv, Options};
use proptest::prelude::*;

const VALID: &[&str] = &[
    r#"tracepoint:syscalls:sys_enter_openat /pid == 1/ { @[comm] = count(); $x = (uint32)nsecs; printf("%d %s\n", $x, comm); }"#,
    r#"uprobe:./srv:"net/http.(*conn).serve", uretprobe:./srv:main.work { @t[tid] = nsecs; @h = hist(nsecs - @t[tid]); delete(@t[tid]); }"#,
    "BEGIN { $i = 0; unroll(3) { $i++; } while ($i < 10) { $i += 2; } if $i > 1 { @a = $i ? 1 : 2; } else { exit(); } }",
    "interval:ms:100 { @x = (a=1, b=(2, \"s\")); print(@x); clear(@y); @l = lhist(cpu, -10, 10, 2); } END { @y = 1; }",
    "profile:hz:99 { @s[ustack, kstack(3), gostack] = count(); @v = *(int8 *)curtask; @w = ((uint64 *)curtask)[2]; }",
    "enum e { A, B = A + 4 }; struct s { int a : 3; char n[B][2]; union { long l; struct s *p; }; int (*f)(int); } typedef struct s s_t; BEGIN { @x = sizeof(s_t) + offsetof(struct s, l) + B; $p = (s_t *)0; @y = $p->p->a; }",
];

fn front_end(source: &str) {
    let options = Options {
        positional: vec!["1".into(), "x".into()],
        has_target: true,
        check_only: false,
        unsafe_allowed: true,
        ..Options::default()
    };
    let result = gprobe_compiler::front_end(source, &NoEnv, &options);
    // Rendering is part of the contract too: spans must always be printable.
    match result {
        Ok((program, _)) => {
            let _ = gprobe_compiler::dump::ast(&program, source);
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            let _ = gprobe_compiler::diag::render(&diagnostics, "<fuzz>", source, false);
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Duplicate(usize, usize),
    Replace(usize, u8),
    Insert(usize, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let tokens = prop::sample::select(vec![
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "\"",
        "/",
        "*",
        "/*",
        "//",
        "$",
        "@",
        ",",
        ";",
        ":",
        "-",
        "!",
        "?",
        "0x",
        "1s",
        "$99",
        "$#",
        "\\",
        "->",
        ".",
        "unroll(0)",
        "count()",
        "args",
        "retval",
        "\u{e9}",
        "\n",
    ]);
    prop_oneof![
        (any::<usize>(), 1usize..8).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Replace(at, byte)),
        (any::<usize>(), tokens).prop_map(|(at, token)| Mutation::Insert(at, token)),
    ]
}

fn apply(source: &str, mutations: &[Mutation]) -> String {
    let mut bytes = source.as_bytes().to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Mutation::Duplicate(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                let copy: Vec<u8> = bytes.get(at..end).unwrap_or(&[]).to_vec();
                bytes.splice(at..at, copy);
            }
            Mutation::Replace(at, byte) => {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] = byte;
                }
            }
            Mutation::Insert(at, token) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, token.bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        front_end(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\n\t]{0,200}") {
        front_end(&text);
    }

    #[test]
    fn mutated_programs_never_panic(
        which in 0..VALID.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        front_end(&apply(VALID[which], &mutations));
    }
}

#[test]
fn valid_seeds_pass() {
    for source in VALID {
        let options = Options {
            positional: vec![],
            has_target: true,
            check_only: false,
            unsafe_allowed: true,
            ..Options::default()
        };
        if let Err(d) = gprobe_compiler::front_end(source, &NoEnv, &options) {
            panic!(
                "{}",
                gprobe_compiler::diag::render(&d, "<seed>", source, false)
            );
        }
    }
}

#[test]
fn deep_nesting_terminates() {
    // Deep nesting must fail cleanly (or parse), not overflow the stack.
    for depth in [50usize, 500] {
        let source = format!(
            "BEGIN {{ @x = {}1{}; }}",
            "(".repeat(depth),
            ")".repeat(depth)
        );
        front_end(&source);
        let source = format!(
            "BEGIN {{ {} }}",
            "if 1 { ".repeat(depth) + &"}".repeat(depth)
        );
        front_end(&source);
        let source = format!("BEGIN {{ @x = {}1; }}", "-".repeat(depth));
        front_end(&source);
    }
}
