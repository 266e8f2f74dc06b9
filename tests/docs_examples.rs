//! What README.md and docs/*.md show a user works as written: every `gp` code block, every
//! `gprobe` command line in `sh` and plain code blocks, and the inline snippets listed below
//! pass `gprobe --check` against real Go builds (`./srv` and `./shop` are examples/shop, `./work`
//! is tests/go/work, `./load` is examples/load, all Go 1.19; `./app` is tests/c/usdt_app.c, a C
//! program with USDT probes); options named on a command line
//! exist in `gprobe --help`; and the JSON sample of docs/output-formats.md is what gprobe prints.
//!
//! Programs are checked with `-c ./srv`, except node-wide ones (no `-p`/`-c`), which are checked
//! as such: a command line without `-p`/`-c`, a program with a binary pattern (`uprobe:*:F`),
//! and the `gp` blocks of docs/node-wide.md.
//!
//! Marking: a fenced block whose info string is `gp` is a whole program. Output samples stay in
//! plain or `json` blocks; command lines are lines that start with `gprobe ` in `sh` or plain
//! blocks (a `\` or an open `'` continues them on the next line).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::*;

/// The pages a user reads. docs/performance.md is a measurement report, not a reference.
const PAGES: &[&str] = &[
    "README.md",
    "docs/architecture.md",
    "docs/builtins.md",
    "docs/from-bpftrace.md",
    "docs/go.md",
    "docs/language.md",
    "docs/node-wide.md",
    "docs/output-formats.md",
    "docs/probes.md",
    "docs/recipes.md",
    "docs/reliability.md",
];

/// Inline snippets (written in the page exactly as quoted here) and a program that uses them;
/// `{}` in the program stands for the snippet. When a page changes one of these, update it here.
const INLINE: &[(&str, &str, &str)] = &[
    (
        "docs/go.md",
        "uprobe:./srv:main.*",
        "{} { @[func] = count(); }",
    ),
    (
        "docs/go.md",
        "@[gocreator] = count()",
        "uprobe:runtime.gopark { {}; }",
    ),
    (
        "docs/go.md",
        "gocreator(args.gp)",
        "uprobe:runtime.casgstatus { @[{}] = count(); }",
    ),
    (
        "docs/go.md",
        "args.gp.goid",
        "uprobe:runtime.casgstatus { @[{}] = count(); }",
    ),
    (
        "docs/go.md",
        "str(args.req.URL.Path)",
        "uprobe:\"net/http.serverHandler.ServeHTTP\" { @[str(args.req.Method), {}] = count(); }",
    ),
    (
        "docs/go.md",
        "args.s.len",
        "uprobe:./work:main.work { @l = sum(args.name.len); @p = sum(args.name.ptr); }",
    ),
    (
        "docs/go.md",
        "ret.r1",
        "uretprobe:./work:main.work { @r[ret.r0, ret.r1.type] = count(); @v = sum(retval); }",
    ),
    (
        "docs/go.md",
        "gostack(n)",
        "uprobe:./srv:main.allocate { @[gostack] = count(); @n[gostack(5)] = count(); }",
    ),
    (
        "docs/language.md",
        "uprobe:./srv:\"net/http.(*conn).serve\"",
        "{} { @ = count(); }",
    ),
    (
        "docs/language.md",
        "@lat[str(args.req.Method)] = hist($ns / 1000);",
        "uprobe:\"net/http.serverHandler.ServeHTTP\" { $ns = nsecs; {} }",
    ),
    (
        "docs/language.md",
        "$lat = nsecs - @start[goid];",
        "uprobe:./work:main.work { @start[goid] = nsecs; {} @m[1, 2] = count(); @scalar = 1; @n++; --$lat; delete(@m[1, 2]); exit(); }",
    ),
    (
        "docs/language.md",
        "`$t.0`, `@m[k].1`, `(a, b).0`",
        "BEGIN { @m[1] = (2, \"b\"); $t = @m[1]; $r = (name = \"n\", size = 1); printf(\"%d %s %d %s\\n\", $t.0, @m[1].1, (3, 4).0, $r.name); }",
    ),
    (
        "docs/language.md",
        "+= -= *= /= %= &= \\|= ^= <<= >>=",
        "BEGIN { $x = 1; $x += 1; $x -= 1; $x *= 2; $x /= 2; $x %= 3; $x &= 1; $x |= 2; $x ^= 1; $x <<= 1; $x >>= 1; @m += 1; }",
    ),
    (
        "docs/language.md",
        "if ($x > 10) { ... } else { ... }",
        "BEGIN { $x = 11; $i = 0; if ($x > 10) { $i = 1; } else if ($x > 5) { $i = 2; } else { return; } unroll (3) { $i++; } while ($i < 9) { $i++; } { printf(\"%d\\n\", $i); } }",
    ),
    (
        "docs/language.md",
        "(struct task_struct *)curtask",
        "profile:hz:99 { $t = (u32)1; @[{}] = count(); @c[$t > 0 ? -1 : ~$t] = count(); }",
    ),
    (
        "docs/language.md",
        "curtask->real_parent->pid",
        "profile:hz:99 { @[{}, str(curtask->comm)] = count(); }",
    ),
    (
        "docs/language.md",
        "$sk->__sk_common.skc_family",
        "tracepoint:skb:kfree_skb { $sk = (struct sock *)args->skbaddr; @[{}] = count(); }",
    ),
    (
        "docs/language.md",
        "$sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[3]",
        "tracepoint:skb:kfree_skb { $sk = (struct sock *)args->skbaddr; @[{}] = count(); }",
    ),
    (
        "docs/language.md",
        "SKB_DROP_REASON_NOT_SPECIFIED",
        "tracepoint:skb:kfree_skb /args->reason > {}/ { @ = count(); }",
    ),
    (
        "docs/language.md",
        "args->rqtp->tv_sec",
        "tracepoint:syscalls:sys_enter_nanosleep { @ = {}; }",
    ),
    (
        "docs/language.md",
        "offsetof(struct task_struct, thread.fsbase)",
        "BEGIN { printf(\"%d %d %d\\n\", {}, sizeof(struct task_struct), sizeof(curtask->comm)); }",
    ),
    (
        "docs/language.md",
        "(uint32 *)curtask + 1",
        "BEGIN { @ = ({}) - (uint32 *)curtask; }",
    ),
    (
        "docs/language.md",
        "`1_000_000`, `1e6`, durations `10ms` `5s` `250us` `3ns`",
        "BEGIN { printf(\"%d %d %d %d %d %d %d %d %d\\n\", 42, 0x1f, 0775, 1_000_000, 1e6, 10ms, 5s, 250us, 3ns); }",
    ),
    (
        "docs/language.md",
        "(name = a, size = b)",
        "BEGIN { @t[(1, \"a\")] = count(); emit((name = \"a\", size = 2)); printf(\"%d\\n\", $#); }",
    ),
    (
        "docs/language.md",
        "@s = \"a\"; @s = \"longer string\";",
        "BEGIN { {} exit(); }",
    ),
    (
        "docs/language.md",
        "strftime(fmt, nsecs)",
        "BEGIN { @t = strftime(\"%H:%M:%S.%f\", nsecs); exit(); }",
    ),
    (
        "docs/language.md",
        "`count`, `sum`, `avg`, `min`, `max`, `stats`, `hist`, `lhist`",
        "BEGIN { @c[1] = count(); @s = sum(1); @a = avg(1); @mi = min(1); @ma = max(1); @st = stats(1); @h = hist(1); @l = lhist(1, 0, 10, 1); print(@c); clear(@h); zero(@s); delete(@c[1]); exit(); }",
    ),
    (
        "docs/probes.md",
        "`interval:s:N`, `interval:ms:N`, `interval:us:N`",
        "interval:s:1 { exit(); } interval:ms:10 { @a = count(); } interval:us:10000 { @b = cpu; }",
    ),
    (
        "docs/probes.md",
        "`profile:hz:N`, `profile:s:N`, `profile:ms:N`",
        "profile:hz:99 { @[pid, tid, comm, goid] = count(); } profile:s:1 { @s[ustack, kstack] = count(); } profile:ms:10 { @g[gostack] = count(); }",
    ),
    (
        "docs/probes.md",
        "gprobe -l 'tracepoint:sched:*'",
        "tracepoint:sched:sched_switch { @[args.prev_comm, goid] = count(); }",
    ),
    (
        "docs/probes.md",
        "uprobe:runtime.gopark",
        "{} { @ = count(); }",
    ),
    (
        "docs/probes.md",
        "\"net/http.(*response).WriteHeader\"",
        "uprobe:./srv:{} { @[args.code] = count(); }",
    ),
    (
        "docs/probes.md",
        "uprobe:./srv:net/http.(*conn).*",
        "{} { @[func] = count(); }",
    ),
    (
        "docs/probes.md",
        "tracepoint:syscalls:sys_enter_*",
        "{} { @[probe] = count(); }",
    ),
    (
        "docs/probes.md",
        "uprobe:./srv:net/http*response*riteHeader { @codes[args.code] = count(); }",
        "{}",
    ),
    (
        "docs/from-bpftrace.md",
        "emit((k = v, ...))",
        "uretprobe:./work:main.work { emit((k = retval, id = goid)); }",
    ),
    (
        "docs/output-formats.md",
        "@opens[comm, str(args.filename)]",
        "tracepoint:syscalls:sys_enter_openat { {} = count(); }",
    ),
    (
        "docs/output-formats.md",
        "@x[(method = ..., code = ...)]",
        "uprobe:./srv:\"net/http.(*response).WriteHeader\" { @x[(method = \"GET\", code = args.code)] = count(); }",
    ),
    (
        "docs/output-formats.md",
        "@[comm, ustack]",
        "profile:hz:99 { {} = count(); }",
    ),
];

/// A directory holding the Go targets under the names the pages use. Made once per test
/// process: the tests run in parallel and would race replacing each other's links.
fn targets() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(make_targets).clone()
}

fn make_targets() -> PathBuf {
    let dir = repo_root().join("target/docs-examples");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, built) in [
        ("srv", go_program("examples/shop", "1.19", &[])),
        ("shop", go_program("examples/shop", "1.19", &[])),
        ("work", go_target("work", "1.19", &[])),
        ("load", go_program("examples/load", "1.19", &[])),
        ("dbclient", go_target("sqlmix", "1.19", &[])),
        // The gRPC recipes' server and client (Debian's grpc-go sources, scripts/install-deps).
        ("grpcmix", debian_go_target("grpcmix", &[])),
    ] {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&built, &link).unwrap();
    }
    let status = Command::new("cc")
        .args(["-g", "-O2", "-o"])
        .arg(dir.join("app"))
        .arg(repo_root().join("tests/c/usdt_app.c"))
        .status()
        .expect("run cc (scripts/install-deps)");
    assert!(
        status.success(),
        "cc tests/c/usdt_app.c failed (needs <sys/sdt.h>)"
    );
    dir
}

fn page(name: &str) -> String {
    std::fs::read_to_string(repo_root().join(name)).unwrap()
}

/// The fenced blocks of a page: (info string, body, line of the opening fence).
fn fenced_blocks(text: &str) -> Vec<(String, String, usize)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_string(), String::new(), i + 1)),
            (Some(_), Some(_)) => blocks.push(open.take().unwrap()),
            (Some((_, body, _)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// Shell words of one command (single quotes, `$(...)`, `#` comments, `\` continuations), and
/// the rest of the text after it.
fn shell_words(text: &str) -> (Vec<String>, &str) {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => {
                for (_, q) in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '$' if chars.peek().map(|p| p.1) == Some('(') => {
                word.push('$');
                for (_, q) in chars.by_ref() {
                    word.push(q);
                    if q == ')' {
                        break;
                    }
                }
            }
            '\\' if chars.peek().map(|p| p.1) == Some('\n') => {
                chars.next();
            }
            '#' if word.is_empty() => {
                for (_, q) in chars.by_ref() {
                    if q == '\n' {
                        break;
                    }
                }
                return (
                    words,
                    &text[text[i..].find('\n').map_or(text.len(), |n| i + n)..],
                );
            }
            '\n' => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                return (words, &text[i + 1..]);
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    (words, "")
}

/// Every `gprobe ...` command in the `sh` and plain blocks of a page, as shell words.
fn commands(text: &str) -> Vec<(Vec<String>, usize)> {
    let mut out = Vec::new();
    for (info, body, line) in fenced_blocks(text) {
        if !(info.is_empty() || info == "sh") {
            continue;
        }
        let mut rest = body.as_str();
        while !rest.is_empty() {
            if rest.starts_with("gprobe ") {
                let (words, after) = shell_words(rest);
                // The command's own line: the fence's, plus the lines before it in the block.
                let before = &body[..body.len() - rest.len()];
                out.push((words, line + 1 + before.matches('\n').count()));
                rest = after;
            } else {
                rest = rest.find('\n').map_or("", |n| &rest[n + 1..]);
            }
        }
    }
    out
}

/// `gprobe --check` of `program` in the targets' directory, with `./srv` as the `-c` target so
/// probes that name no binary resolve; returns the diagnostics on failure.
/// Pages whose `gp` blocks are node-wide scripts.
const NODE_WIDE_PAGES: &[&str] = &["docs/node-wide.md"];

/// A probe on a binary pattern (`uprobe:*:F`, `uretprobe:/srv/*/bin/*:F`): node-wide only.
fn has_binary_pattern(program: &str) -> bool {
    program.split_whitespace().any(|w| {
        let Some(rest) = w
            .strip_prefix("uprobe:")
            .or_else(|| w.strip_prefix("uretprobe:"))
        else {
            return false;
        };
        rest.rsplit_once(':')
            .is_some_and(|(binary, _)| binary.contains(['*', '?', '[']))
    })
}

fn check(dir: &Path, program: &str, node_wide: bool) -> Result<(), String> {
    let target: &[&str] = if node_wide || has_binary_pattern(program) {
        &[]
    } else {
        &["-c", "./srv"]
    };
    let out = Command::new(gprobe_bin())
        .current_dir(dir)
        .arg("--check")
        .args(target)
        .args(["-e", program])
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(text(&out.stderr))
    }
}

fn help_options() -> Vec<String> {
    let out = Command::new(gprobe_bin()).arg("--help").output().unwrap();
    text(&out.stdout)
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| w.starts_with('-') && w.len() > 1)
        .map(|w| w.split('=').next().unwrap().to_string())
        .collect()
}

#[test]
fn gp_blocks_in_the_docs_check() {
    if !e2e_ready() {
        return;
    }
    let dir = targets();
    let mut failures = Vec::new();
    let mut checked = 0;
    for name in PAGES {
        for (info, body, line) in fenced_blocks(&page(name)) {
            if info != "gp" {
                continue;
            }
            checked += 1;
            if let Err(e) = check(&dir, &body, NODE_WIDE_PAGES.contains(name)) {
                failures.push(format!("{name}:{line}:\n{body}{e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{checked} gp blocks checked");
    assert!(checked >= 2, "only {checked} gp blocks found");
}

#[test]
fn command_lines_in_the_docs_work() {
    if !e2e_ready() {
        return;
    }
    let dir = targets();
    let options = help_options();
    let recipes = text(
        &Command::new(gprobe_bin())
            .arg("--recipes")
            .output()
            .unwrap()
            .stdout,
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    for name in PAGES {
        for (words, line) in commands(&page(name)) {
            checked += 1;
            let at = format!("{name}:{line}: gprobe {}", words[1..].join(" "));
            for w in words.iter().skip(1).filter(|w| w.starts_with('-')) {
                if !options.iter().any(|o| o == w) {
                    failures.push(format!("{at}\n  option {w} is not in `gprobe --help`"));
                }
            }
            let after = |flag: &str| {
                words
                    .iter()
                    .position(|w| w == flag)
                    .and_then(|i| words.get(i + 1))
            };
            if let Some(program) = after("-e")
                && let Err(e) = check(&dir, program, !words.iter().any(|w| w == "-p" || w == "-c"))
            {
                failures.push(format!("{at}\n{e}"));
            }
            if let Some(recipe) = after("--recipe") {
                if !recipes
                    .lines()
                    .any(|l| l.starts_with(&format!("{recipe} ")))
                {
                    failures.push(format!("{at}\n  no recipe {recipe} in `gprobe --recipes`"));
                }
                // A client recipe needs a program that sends requests; gRPC ones a gRPC program.
                let target = match recipe.as_str() {
                    "http-client" => "./load",
                    // A database/sql client (the sql recipe refuses programs without one).
                    "sql" => "./dbclient",
                    r if r.starts_with("grpc-") => "./grpcmix",
                    _ => "./srv",
                };
                let out = Command::new(gprobe_bin())
                    .current_dir(&dir)
                    .args(["--check", "--recipe", recipe, "-c", target])
                    .output()
                    .unwrap();
                if !out.status.success() {
                    failures.push(format!("{at}\n{}", text(&out.stderr)));
                }
            }
            if let Some(pattern) = after("-l") {
                let out = Command::new(gprobe_bin())
                    .current_dir(&dir)
                    .args(["-l", pattern])
                    .output()
                    .unwrap();
                if !out.status.success() || out.stdout.is_empty() {
                    failures.push(format!("{at}\n  lists nothing: {}", text(&out.stderr)));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("{checked} command lines checked");
    assert!(checked >= 20, "only {checked} command lines found");
}

#[test]
fn inline_snippets_in_the_docs_check() {
    if !e2e_ready() {
        return;
    }
    let dir = targets();
    let mut failures = Vec::new();
    for (name, snippet, program) in INLINE {
        let quoted = if snippet.starts_with('`') {
            snippet.to_string()
        } else {
            format!("`{snippet}`")
        };
        if !page(name).contains(&quoted) {
            failures.push(format!("{name} no longer shows {quoted}: update INLINE"));
            continue;
        }
        let program = program.replace("{}", snippet);
        if let Err(e) = check(&dir, &program, false) {
            failures.push(format!("{name}: {snippet}\n{program}\n{e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The JSON sample of docs/output-formats.md is exactly what its `gp` program prints.
#[test]
fn json_sample_is_what_gprobe_prints() {
    if !e2e_ready() {
        return;
    }
    let doc = page("docs/output-formats.md");
    let blocks = fenced_blocks(&doc);
    let at = blocks
        .iter()
        .position(|(info, body, _)| info == "gp" && body.contains("\"hello %d\\n\""))
        .expect("the JSON sample's program");
    let (info, expected, _) = &blocks[at + 1];
    assert_eq!(info, "json");
    let _k = kernel_lock();
    let printed = gprobe_ok(
        &["-f", "json", "-e", &blocks[at].1],
        Duration::from_secs(60),
    );
    assert_eq!(&printed, expected);
}

/// `@s = "a"; @s = "longer string";` prints `longer string` (docs/language.md).
#[test]
fn widened_string_prints_as_documented() {
    if !e2e_ready() {
        return;
    }
    let doc = page("docs/language.md");
    assert!(doc.contains("`@s = \"a\"; @s = \"longer string\";` `@s` holds 14-byte strings and prints\n`longer string`"));
    let _k = kernel_lock();
    let printed = gprobe_ok(
        &[
            "-e",
            "BEGIN { @s = \"a\"; @s = \"longer string\"; exit(); }",
        ],
        Duration::from_secs(60),
    );
    assert!(printed.contains("@s: longer string\n"), "{printed}");
}
