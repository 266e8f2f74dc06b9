//! The Go binary reader against real Go binaries built with each toolchain we have (1.19, 1.23,
//! 1.25, 1.27), stripped and not, PIE and cgo; ground truth from the same toolchain's
//! `go tool nm`, `go tool objdump` and `go version -m`.

#[path = "support/gotargets.rs"]
mod gotargets;

use std::collections::{BTreeMap, HashMap};

use gotargets::{Flavour, VERSIONS, go, nm_text_symbols, objdump, target};
use gprobe_compiler::gobin::{
    ArgLocation, GoBinError, GoBinary, GoType, OffsetSource, RuntimeOffsets,
};
use gprobe_compiler::types::Type;

fn release(version: &str) -> (u32, u32) {
    let mut p = version.split('.').map(|x| x.parse::<u32>().unwrap());
    (p.next().unwrap(), p.next().unwrap())
}

/// Checks a pclntab function against nm's symbols: same name at the same address, where the
/// symbol table spells ABI0 functions `name.abi0`, and the pclntab shortens long type names in
/// generated functions to `[...]`.
fn nm_agrees(
    nm: &HashMap<String, u64>,
    by_addr: &HashMap<u64, Vec<String>>,
    name: &str,
    entry: u64,
) -> bool {
    // The symbol table also spells the middle dot of generated names as `.`.
    let dotted = name.replace('\u{b7}', ".");
    for n in [name, dotted.as_str()] {
        if nm.get(n) == Some(&entry) || nm.get(&format!("{n}.abi0")) == Some(&entry) {
            return true;
        }
    }
    let Some((head, tail)) = name.split_once("[...]") else {
        return false;
    };
    by_addr.get(&entry).is_some_and(|names| {
        names
            .iter()
            .any(|n| n.starts_with(head) && n.ends_with(tail))
    })
}

fn nm_maps(
    version: &str,
    path: &std::path::Path,
) -> (HashMap<String, u64>, HashMap<u64, Vec<String>>) {
    let syms = nm_text_symbols(version, path);
    let mut by_addr: HashMap<u64, Vec<String>> = HashMap::new();
    for (n, a) in &syms {
        by_addr.entry(*a).or_default().push(n.clone());
    }
    (syms.into_iter().collect(), by_addr)
}

/// Every pclntab function is a text symbol at the same address in `go tool nm`, and the main
/// package's functions are all found; the stripped twin lists exactly the same functions.
#[test]
fn functions_match_go_tool_nm_and_stripped_twin() {
    for version in VERSIONS {
        let Some(plain) = target("probe", version, Flavour::Plain) else {
            continue;
        };
        let Some(stripped) = target("probe", version, Flavour::Stripped) else {
            continue;
        };
        let bin = GoBinary::open(&plain).unwrap();
        let (nm, by_addr) = nm_maps(version, &plain);
        let funcs = bin.try_functions().unwrap();
        assert!(
            funcs.len() > 1000,
            "{version}: only {} functions",
            funcs.len()
        );
        for f in funcs {
            assert!(
                nm_agrees(&nm, &by_addr, &f.name, f.entry),
                "{version}: {} at {:#x}",
                f.name,
                f.entry
            );
            assert!(f.end > f.entry, "{version}: {} is empty", f.name);
        }
        for (name, addr) in nm.iter().filter(|(n, _)| n.starts_with("main.")) {
            let f = bin
                .function(name)
                .unwrap_or_else(|| panic!("{version}: no {name}"));
            assert_eq!(f.entry, *addr);
        }
        for name in [
            "main.Probe",
            "main.deep",
            "main.(*pair).sum",
            "runtime.main",
            "main.main",
        ] {
            assert!(bin.function(name).is_some(), "{version}: {name} missing");
        }

        let sbin = GoBinary::open(&stripped).unwrap();
        assert!(
            sbin.symbols().is_empty(),
            "{version}: -s left a symbol table"
        );
        assert!(!sbin.has_dwarf());
        let key = |b: &GoBinary| -> Vec<(String, u64)> {
            b.functions()
                .iter()
                .map(|f| (f.name.clone(), f.size()))
                .collect()
        };
        assert_eq!(
            key(&bin),
            key(&sbin),
            "{version}: stripped twin lists other functions"
        );
        assert_eq!(
            bin.function("main.Probe").unwrap().entry,
            sbin.function("main.Probe").unwrap().entry
        );
    }
}

#[test]
fn pie_and_cgo_functions_match_go_tool_nm() {
    for version in VERSIONS {
        for (program, flavour) in [("probe", Flavour::Pie), ("cgo", Flavour::Cgo)] {
            let Some(path) = target(program, version, flavour) else {
                continue;
            };
            let bin = GoBinary::open(&path).unwrap();
            assert_eq!(
                bin.is_pie(),
                flavour == Flavour::Pie,
                "{version} {flavour:?}"
            );
            assert_eq!(
                bin.is_cgo(),
                flavour == Flavour::Cgo,
                "{version} {flavour:?}"
            );
            let (nm, by_addr) = nm_maps(version, &path);
            let funcs = bin.try_functions().unwrap();
            for f in funcs {
                assert!(
                    nm_agrees(&nm, &by_addr, &f.name, f.entry),
                    "{version} {flavour:?}: {}",
                    f.name
                );
            }
            let work = bin
                .function("main.work")
                .or_else(|| bin.function("main.Probe"));
            assert!(
                work.is_some(),
                "{version} {flavour:?}: main function missing"
            );
        }
    }
}

#[test]
fn build_info_matches_go_version_m() {
    for version in VERSIONS {
        for flavour in [Flavour::Plain, Flavour::Stripped, Flavour::Pie] {
            let Some(path) = target("probe", version, flavour) else {
                continue;
            };
            let bin = GoBinary::open(&path).unwrap();
            let text = go(version, &["version", "-m", path.to_str().unwrap()]);
            let want_version = text.lines().next().unwrap().rsplit(": ").next().unwrap();
            let want_path = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("path\t"))
                .unwrap();
            let info = bin.build_info().expect("build info");
            assert_eq!(info.go_version, want_version);
            assert_eq!(info.main_path.as_deref(), Some(want_path));
            assert_eq!(info.setting("GOARCH"), Some("amd64"));
            assert_eq!(bin.go_release(), release(version));
        }
    }
}

/// The bytes at the uprobe file offset of a function are the instructions objdump shows there.
#[test]
fn file_offsets_hold_the_function_code() {
    for version in VERSIONS {
        for flavour in [Flavour::Plain, Flavour::Pie, Flavour::Cgo] {
            let program = if flavour == Flavour::Cgo {
                "cgo"
            } else {
                "probe"
            };
            let Some(path) = target(program, version, flavour) else {
                continue;
            };
            let bin = GoBinary::open(&path).unwrap();
            let file = std::fs::read(&path).unwrap();
            let func = if program == "cgo" {
                "main.work"
            } else {
                "main.deep"
            };
            let f = bin.function(func).unwrap();
            let off = bin.vaddr_to_file_offset(f.entry).unwrap() as usize;
            let dump = objdump(version, &path, &format!("^{}$", regex_quote(func)));
            let insns = &dump.iter().find(|(n, _)| n == func).unwrap().1;
            assert_eq!(insns[0].addr, f.entry);
            let mut at = off;
            for insn in insns.iter().take(8) {
                assert_eq!(
                    &file[at..at + insn.bytes.len()],
                    &insn.bytes[..],
                    "{version} {flavour:?}"
                );
                at += insn.bytes.len();
            }
        }
    }
}

fn regex_quote(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if "()*.[]+?^$|\\".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// RET offsets from iced-x86 equal the RET lines of `go tool objdump`.
#[test]
fn ret_offsets_match_objdump() {
    for version in VERSIONS {
        let Some(path) = target("probe", version, Flavour::Stripped) else {
            continue;
        };
        let Some(plain) = target("probe", version, Flavour::Plain) else {
            continue;
        };
        let bin = GoBinary::open(&path).unwrap();
        // Go 1.19's objdump needs symbols: disassemble the unstripped twin (same text addresses).
        let dump = objdump(
            version,
            &plain,
            "^(main\\.|runtime\\.casgstatus$|runtime\\.goexit|fmt\\.\\(\\*pp\\)\\.doPrintf$)",
        );
        assert!(
            dump.len() >= 6,
            "{version}: objdump found {} functions",
            dump.len()
        );
        let mut with_rets = 0;
        for (name, insns) in &dump {
            let f = bin
                .function_at(insns[0].addr)
                .unwrap_or_else(|| panic!("{version}: {name}"));
            assert_eq!(f.entry, insns[0].addr);
            assert_eq!(f.name, name.trim_end_matches(".abi0"));
            let want: Vec<u64> = insns
                .iter()
                .filter(|i| i.text == "RET")
                .map(|i| i.addr - f.entry)
                .collect();
            assert_eq!(bin.ret_offsets(f).unwrap(), want, "{version}: {name}");
            with_rets += usize::from(!want.is_empty());
        }
        assert!(
            with_rets >= 4,
            "{version}: too few functions with RETs to prove anything"
        );
        let goexit = bin
            .function("runtime.goexit.abi0")
            .or_else(|| bin.function("runtime.goexit"));
        if let Some(g) = goexit {
            assert!(
                bin.ret_offsets(g).unwrap().is_empty(),
                "goexit never returns"
            );
        }
    }
}

/// pc → file:line for every instruction equals objdump's column; inlined calls are expanded.
#[test]
fn symbolize_matches_objdump_lines_and_expands_inlining() {
    for version in VERSIONS {
        let Some(path) = target("probe", version, Flavour::Stripped) else {
            continue;
        };
        let Some(plain) = target("probe", version, Flavour::Plain) else {
            continue;
        };
        let bin = GoBinary::open(&path).unwrap();
        for (name, insns) in objdump(version, &plain, "^main\\.(main|deep|Probe)$") {
            for insn in &insns {
                let frames = bin.symbolize(insn.addr);
                let inner = frames.first().unwrap();
                let got = format!("{}:{}", inner.file.rsplit('/').next().unwrap(), inner.line);
                assert_eq!(got, insn.file_line, "{version}: {name} at {:#x}", insn.addr);
                assert_eq!(frames.last().unwrap().function, name);
                assert!(!frames.last().unwrap().inlined);
            }
        }
        // twice() is inlined into main.main: some pc there must show it as an inlined frame with
        // main.main (at the call line) as its physical frame.
        let main = bin.function("main.main").unwrap();
        let src =
            std::fs::read_to_string(gotargets::repo_root().join("tests/go/probe/main.go")).unwrap();
        let line_of =
            |needle: &str| src.lines().position(|l| l.contains(needle)).unwrap() as i64 + 1;
        let (twice_line, call_line) = (line_of("func twice"), line_of("twice(len(os.Args))"));
        let found = (main.entry..main.end)
            .map(|pc| bin.symbolize(pc))
            .find(|fr| fr.len() == 2 && fr[0].function == "main.twice" && fr[0].inlined);
        let frames = found.unwrap_or_else(|| panic!("{version}: main.twice not seen inlined"));
        assert_eq!(frames[0].line, twice_line, "{version}");
        assert_eq!(frames[1].function, "main.main");
        assert_eq!(frames[1].line, call_line, "{version}");
    }
}

/// DWARF parameters of the facts file's `Probe` and the ABI placement verified there.
#[test]
fn probe_params_and_abi_from_dwarf() {
    for version in VERSIONS {
        let Some(path) = target("probe", version, Flavour::Plain) else {
            continue;
        };
        let bin = GoBinary::open(&path).unwrap();
        let params = bin.params("main.Probe").unwrap();
        let names: Vec<_> = params.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["s", "b", "i", "e", "x", "f", "sm", "p", "~r0", "~r1", "~r2"],
            "{version}"
        );
        assert_eq!(params.results().count(), 3);
        let get = |n: &str| params.get(n).unwrap();
        assert_eq!(get("s").ty, GoType::String);
        assert_eq!(get("b").ty.go_name(), "[]uint8");
        assert!(matches!(
            &get("i").ty,
            GoType::Interface { empty: true, .. }
        ));
        assert!(
            matches!(&get("e").ty, GoType::Interface { empty: false, name } if name == "error")
        );
        assert_eq!(
            get("x").ty,
            GoType::Int {
                bits: 64,
                signed: true
            }
        );
        assert_eq!(get("f").ty, GoType::Float { bits: 64 });
        assert!(matches!(&get("sm").ty, GoType::Struct(s) if s.fields.len() == 2 && s.size == 16));
        assert_eq!(get("p").ty.go_name(), "*int64");
        let locs: Vec<String> = params
            .params
            .iter()
            .map(|p| match p.location.as_ref().unwrap() {
                ArgLocation::Registers(r) => r
                    .iter()
                    .map(|p| p.reg.name(bin.arch()))
                    .collect::<Vec<_>>()
                    .join(","),
                ArgLocation::Stack { offset } => format!("SP+{offset}"),
            })
            .collect();
        assert_eq!(
            locs,
            [
                "RAX,RBX",
                "RCX,RDI,RSI",
                "R8,R9",
                "R10,R11",
                "SP+8",
                "X0",
                "SP+16",
                "SP+32",
                "RAX",
                "RBX,RCX",
                "RDI,RSI"
            ],
            "{version}"
        );
        let blank = bin.params("main.blankResult").unwrap();
        let names: Vec<_> = blank.params.iter().map(|p| p.name.as_str()).collect();
        // Go 1.19 spells a blank result `~b0`, later releases `~r0`.
        let blank_name = if release(version) < (1, 20) {
            "~b0"
        } else {
            "~r0"
        };
        assert_eq!(names, ["p", blank_name, "err"], "{version}");
        assert_eq!(blank.results().count(), 2);
        // A method: receiver first, pointer to a named struct kept by name.
        let sum = bin.params("main.(*pair).sum").unwrap();
        assert_eq!(sum.params[0].ty.go_name(), "*main.pair");
        assert_eq!(
            sum.params[0].ty.to_type(),
            gprobe_compiler::types::Type::Ptr(
                Box::new(gprobe_compiler::types::Type::Named("main.pair".into())),
                gprobe_compiler::types::AddrSpace::User
            )
        );
        assert!(matches!(
            bin.params("main.nope"),
            Err(GoBinError::NoFunction(_))
        ));
    }
}

#[test]
fn http_request_layout_from_dwarf_and_table_agree() {
    for version in VERSIONS {
        let Some(path) = target("httpsrv", version, Flavour::Plain) else {
            continue;
        };
        let bin = GoBinary::open(&path).unwrap();
        let req = bin.go_struct("net/http.Request").unwrap();
        let builtin =
            gprobe_compiler::gobin::known_types::struct_type("net/http.Request", release(version))
                .unwrap();
        for f in &builtin.fields {
            let d = req
                .field(&f.name)
                .unwrap_or_else(|| panic!("{version}: Request.{}", f.name));
            assert_eq!(d.offset, f.offset, "{version}: Request.{}", f.name);
            assert_eq!(
                d.ty.go_name().trim_start_matches('*'),
                f.ty.go_name().trim_start_matches('*')
            );
        }
        let resp = bin.go_struct("net/http.response").unwrap();
        let builtin_resp =
            gprobe_compiler::gobin::known_types::struct_type("net/http.response", release(version))
                .unwrap();
        for f in &builtin_resp.fields {
            let d = resp
                .field(&f.name)
                .unwrap_or_else(|| panic!("{version}: response.{}", f.name));
            assert_eq!(d.offset, f.offset, "{version}: response.{}", f.name);
        }
        let url = bin.go_struct("net/url.URL").unwrap();
        assert_eq!(url.field("Path").unwrap().offset, 56);
        assert_eq!(url.field("Path").unwrap().ty, GoType::String);
        let serve = bin.params("net/http.serverHandler.ServeHTTP").unwrap();
        let names: Vec<_> = serve.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["sh", "rw", "req"], "{version}");
        assert_eq!(
            serve.get("rw").unwrap().ty,
            GoType::Interface {
                name: "net/http.ResponseWriter".into(),
                empty: false
            }
        );
        let url_t = bin.struct_type("net/url.URL").unwrap();
        let path_t = url_t.fields.iter().find(|f| f.name == "Path").unwrap();
        assert_eq!(path_t.ty, Type::GoString);
        let req_t = bin.struct_type("net/http.Request").unwrap();
        let url_f = req_t.fields.iter().find(|f| f.name == "URL").unwrap();
        assert_eq!(
            url_f.ty,
            Type::Ptr(
                Box::new(Type::Named("net/url.URL".into())),
                gprobe_compiler::types::AddrSpace::User
            )
        );
        let req_loc = serve.get("req").unwrap().location.clone().unwrap();
        let ArgLocation::Registers(r) = req_loc else {
            panic!("req on stack")
        };
        // The facts file: sh=RAX, rw=RBX,RCX, req=RDI.
        assert_eq!(r[0].reg.name(bin.arch()), "RDI");
        assert_eq!(serve.get("req").unwrap().ty.go_name(), "*net/http.Request");
        // Stripped twins fall back to the built-in table.
        let Some(spath) = target("httpsrv", version, Flavour::Stripped) else {
            continue;
        };
        let sbin = GoBinary::open(&spath).unwrap();
        assert!(matches!(sbin.params("main.main"), Err(GoBinError::NoDwarf)));
        assert_eq!(sbin.go_struct("net/http.Request").unwrap(), builtin);
    }
}

/// Runtime offsets read from each toolchain's DWARF equal the built-in version table (which is
/// what stripped binaries use).
#[test]
fn runtime_offsets_from_dwarf_equal_version_table() {
    for version in VERSIONS {
        let Some(path) = target("httpsrv", version, Flavour::Plain) else {
            continue;
        };
        let bin = GoBinary::open(&path).unwrap();
        let dwarf = bin.runtime_offsets();
        assert_eq!(dwarf.source, OffsetSource::Dwarf);
        let table = RuntimeOffsets::table(release(version));
        assert_eq!(
            RuntimeOffsets {
                source: OffsetSource::Dwarf,
                ..table
            },
            dwarf,
            "{version}"
        );
        let goid = if matches!(release(version).1, 23 | 24) {
            160
        } else {
            152
        };
        assert_eq!(dwarf.g_goid, goid);
        let Some(spath) = target("httpsrv", version, Flavour::Stripped) else {
            continue;
        };
        let s = GoBinary::open(&spath).unwrap().runtime_offsets();
        assert_eq!(s.source, OffsetSource::Table);
        assert_eq!(
            RuntimeOffsets {
                source: OffsetSource::Dwarf,
                ..s
            },
            dwarf
        );
    }
}

#[test]
fn glob_lookup_lists_net_http() {
    let Some(path) = target("httpsrv", "1.27.3", Flavour::Stripped) else {
        return;
    };
    let bin = GoBinary::open(&path).unwrap();
    let http = bin.functions_matching("net/http.*");
    assert!(
        http.iter()
            .any(|f| f.name == "net/http.serverHandler.ServeHTTP")
    );
    assert!(http.iter().any(|f| f.name == "net/http.(*conn).serve"));
    assert!(http.iter().all(|f| f.name.starts_with("net/http.")));
    let mains: Vec<_> = bin
        .functions_matching("main.*")
        .iter()
        .map(|f| f.name.clone())
        .collect();
    assert!(
        mains.contains(&"main.main".to_string()) && mains.contains(&"main.main.func1".to_string())
    );
}

/// A literal name (what a quoted attach point gives) resolves to that one function even with
/// the `*` of a pointer receiver; the same text as a glob matches every `(*conn)`-like
/// receiver and the `*` at the end matches every method.
#[test]
fn literal_names_keep_their_star() {
    use gprobe_compiler::target::resolve_uprobe;
    let Some(path) = target("httpsrv", "1.27.3", Flavour::Stripped) else {
        return;
    };
    let bin = GoBinary::open(&path).unwrap();
    let name = "net/http.(*conn).serve";
    let literal = resolve_uprobe(&bin, name, false, false).unwrap();
    assert_eq!(
        literal.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        [name]
    );
    let glob = resolve_uprobe(&bin, "net/http.(*conn).*", true, false).unwrap();
    assert!(glob.len() > 1, "{} sites", glob.len());
    assert!(glob.iter().any(|s| s.name == name));
    // A literal `*` matches only itself.
    let err = resolve_uprobe(&bin, "net/http.(*conn).*", false, false).unwrap_err();
    assert!(err.contains("no function `net/http.(*conn).*`"), "{err}");
}

/// Truncated and corrupted copies of a real binary give errors or partial answers, never a
/// panic or a hang.
#[test]
fn malformed_binaries_return_errors() {
    let Some(path) = target("probe", "1.25.5", Flavour::Stripped) else {
        return;
    };
    let data = std::fs::read(&path).unwrap();
    let bin = GoBinary::parse(data.clone()).unwrap();
    let pcln = bin.section(".gopclntab").unwrap().file_range.unwrap().0 as usize;
    for len in [
        0,
        10,
        64,
        200,
        4096,
        pcln,
        pcln + 40,
        pcln + 100_000,
        data.len() - 1,
    ] {
        if let Ok(b) = GoBinary::parse(data[..len].to_vec()) {
            let _ = b.try_functions();
            let _ = b.symbolize(0x401000);
        }
    }
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut errors = 0;
    for round in 0..60 {
        let mut d = data.clone();
        // Corrupt the pclntab header in the first rounds, then anywhere in the table.
        for _ in 0..8 {
            let at = if round < 20 {
                pcln + (next() % 72) as usize
            } else {
                pcln + (next() % 400_000) as usize
            };
            d[at] = next() as u8;
        }
        match GoBinary::parse(d) {
            Ok(b) => {
                if b.try_functions().is_err() {
                    errors += 1;
                }
                for f in b.functions().iter().step_by(97) {
                    let _ = b.symbolize(f.entry + 3);
                    let _ = b.ret_offsets(f);
                }
            }
            Err(_) => errors += 1,
        }
    }
    assert!(errors > 0, "no corruption was ever detected");
    let mut not_go = data.clone();
    let pcln_magic = &mut not_go[pcln..pcln + 4];
    pcln_magic.copy_from_slice(&[0, 0, 0, 0]);
    // Without a valid magic in the section the scan may still find none: not a Go binary.
    assert!(matches!(GoBinary::parse(not_go), Err(GoBinError::NotGo)));
    assert!(matches!(
        GoBinary::open("/nonexistent/x"),
        Err(GoBinError::Io { .. })
    ));
    let elf = std::fs::read("/bin/sh").unwrap();
    assert!(matches!(GoBinary::parse(elf), Err(GoBinError::NotGo)));
}

#[test]
fn stable_listing_between_flavours() {
    // -l on a stripped binary must list the same Go functions as on its unstripped twin: check the
    // httpsrv program too, by name only, in order.
    for version in VERSIONS {
        let (Some(a), Some(b)) = (
            target("httpsrv", version, Flavour::Plain),
            target("httpsrv", version, Flavour::Stripped),
        ) else {
            continue;
        };
        let names = |p| -> BTreeMap<String, u64> {
            GoBinary::open(p)
                .unwrap()
                .functions()
                .iter()
                .map(|f| (f.name.clone(), f.size()))
                .collect()
        };
        assert_eq!(names(&a), names(&b), "{version}");
    }
}

/// arm64 (cross-compiled): functions, RETs and the register ABI (the facts file: s=R0,R1 … p=R12).
#[test]
fn arm64_functions_rets_and_abi() {
    for version in VERSIONS {
        let Some(path) = target("probe", version, Flavour::Arm64) else {
            continue;
        };
        let bin = GoBinary::open(&path).unwrap();
        assert_eq!(bin.arch(), gprobe_compiler::gobin::Arch::Aarch64);
        assert_eq!(bin.build_info().unwrap().setting("GOARCH"), Some("arm64"));
        let (nm, by_addr) = nm_maps(version, &path);
        for f in bin.try_functions().unwrap() {
            assert!(
                nm_agrees(&nm, &by_addr, &f.name, f.entry),
                "{version}: {}",
                f.name
            );
        }
        let mut rets = 0;
        for (name, insns) in objdump(version, &path, "^main\\.") {
            let f = bin.function_at(insns[0].addr).unwrap();
            let want: Vec<u64> = insns
                .iter()
                .filter(|i| i.text == "RET")
                .map(|i| i.addr - f.entry)
                .collect();
            assert_eq!(bin.ret_offsets(f).unwrap(), want, "{version}: {name}");
            rets += want.len();
        }
        assert!(rets >= 4, "{version}: only {rets} RETs in main.*");
        let params = bin.params("main.Probe").unwrap();
        let locs: Vec<String> = params
            .params
            .iter()
            .map(|p| match p.location.as_ref().unwrap() {
                ArgLocation::Registers(r) => r
                    .iter()
                    .map(|p| p.reg.name(bin.arch()))
                    .collect::<Vec<_>>()
                    .join(","),
                ArgLocation::Stack { offset } => format!("SP+{offset}"),
            })
            .collect();
        assert_eq!(
            locs,
            [
                "R0,R1", "R2,R3,R4", "R5,R6", "R7,R8", "R9", "F0", "R10,R11", "R12", "R0", "R1,R2",
                "R3,R4"
            ],
            "{version}"
        );
        let o = bin.runtime_offsets();
        assert_eq!(o.source, OffsetSource::Dwarf);
        assert_eq!(
            RuntimeOffsets {
                source: OffsetSource::Dwarf,
                ..RuntimeOffsets::table(release(version))
            },
            o
        );
    }
}

/// The once-per-call entry probe point is right after the stack check's branch (JBE on amd64,
/// BLS on arm64, as objdump prints it), and 0 for functions without a check.
#[test]
fn entry_probe_offset_skips_the_stack_check() {
    for version in VERSIONS {
        for flavour in [Flavour::Plain, Flavour::Arm64] {
            let Some(path) = target("probe", version, flavour) else {
                continue;
            };
            let bin = GoBinary::open(&path).unwrap();
            let dump = objdump(
                version,
                &path,
                "^(main\\.|runtime\\.(mallocgc|casgstatus|newproc1)$)",
            );
            let mut checked = 0;
            for (name, insns) in &dump {
                let f = bin.function_at(insns[0].addr).unwrap();
                let branch = insns.iter().take(6).position(|i| {
                    let after_check = |j: usize| {
                        j > 0
                            && insns[..j]
                                .iter()
                                .any(|p| p.text.contains("0x10(R14)") || p.text.contains("16(R28)"))
                    };
                    (i.text.starts_with("JBE ") || i.text.starts_with("BLS "))
                        && after_check(insns.iter().position(|x| x.addr == i.addr).unwrap())
                });
                let want = branch.map(|b| insns[b + 1].addr - f.entry).unwrap_or(0);
                assert_eq!(
                    bin.entry_probe_offset(f).unwrap(),
                    want,
                    "{version} {flavour:?}: {name}"
                );
                checked += usize::from(want != 0);
            }
            assert!(
                checked >= 3,
                "{version} {flavour:?}: only {checked} functions with a check"
            );
            let deep = bin.function("main.deep").unwrap();
            assert_ne!(
                bin.entry_probe_offset(deep).unwrap(),
                0,
                "{version}: main.deep grows its stack"
            );
        }
    }
}

/// Without section headers (as after `sstrip`), the pclntab, build info and (Go 1.26+)
/// runtime.moduledata are found by scanning the segments; the result is the same.
#[test]
fn binaries_without_section_headers() {
    for version in VERSIONS {
        for flavour in [Flavour::Stripped, Flavour::Pie] {
            let Some(path) = target("probe", version, flavour) else {
                continue;
            };
            let data = std::fs::read(&path).unwrap();
            let with = GoBinary::parse(data.clone()).unwrap();
            let mut d = data;
            d[0x28..0x30].fill(0); // e_shoff
            d[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
            let without = GoBinary::parse(d).unwrap();
            assert!(
                without.sections().is_empty(),
                "{version}: sections still visible"
            );
            assert_eq!(without.go_version(), with.go_version());
            assert_eq!(
                without.functions(),
                with.functions(),
                "{version} {flavour:?}"
            );
            let f = without.function("main.deep").unwrap();
            assert_eq!(without.symbolize(f.entry + 4), with.symbolize(f.entry + 4));
        }
    }
}

/// The pre-1.18 build info layout (pointers to Go strings), written into a real binary's
/// `.go.buildinfo` since no toolchain older than 1.19 is installed.
#[test]
fn build_info_pointer_format() {
    let Some(path) = target("probe", "1.19", Flavour::Stripped) else {
        return;
    };
    let mut data = std::fs::read(&path).unwrap();
    let bin = GoBinary::parse(data.clone()).unwrap();
    let sec = bin.section(".go.buildinfo").unwrap().clone();
    let (off, size) = sec.file_range.unwrap();
    let (o, a) = (off as usize, sec.addr);
    let start = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
    let end = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";
    let mut mod_info = start.to_vec();
    mod_info.extend_from_slice(
        b"path\tex.com/old/cmd\nmod\tex.com/old\t(devel)\t\nbuild\tGOARCH=amd64\n",
    );
    mod_info.extend_from_slice(end);
    let version = b"go1.17.13";
    assert!(80 + version.len() + mod_info.len() <= size as usize);
    let put = |d: &mut Vec<u8>, at: usize, v: u64| {
        d[o + at..o + at + 8].copy_from_slice(&v.to_le_bytes())
    };
    data[o + 15] = 0; // flags: little-endian, strings by pointer
    put(&mut data, 16, a + 32);
    put(&mut data, 24, a + 48);
    put(&mut data, 32, a + 80);
    put(&mut data, 40, version.len() as u64);
    put(&mut data, 48, a + 80 + version.len() as u64);
    put(&mut data, 56, mod_info.len() as u64);
    data[o + 80..o + 80 + version.len()].copy_from_slice(version);
    let m = o + 80 + version.len();
    data[m..m + mod_info.len()].copy_from_slice(&mod_info);
    let old = GoBinary::parse(data).unwrap();
    let info = old.build_info().unwrap();
    assert_eq!(info.go_version, "go1.17.13");
    assert_eq!(info.release(), Some((1, 17)));
    assert_eq!(info.main_path.as_deref(), Some("ex.com/old/cmd"));
    assert_eq!(info.main_module.as_deref(), Some("ex.com/old"));
    assert_eq!(info.setting("GOARCH"), Some("amd64"));
}

/// The built-in signatures used for stripped binaries agree with DWARF on every toolchain of the
/// matrix: same names (results as scripts spell them), same ABI locations.
#[test]
fn known_signatures_match_dwarf() {
    use gprobe_compiler::gobin::known_funcs;
    use gprobe_compiler::target;
    for version in VERSIONS {
        let Some(path) = target("httpload", version, Flavour::Plain) else {
            continue;
        };
        let bin = GoBinary::open(&path).expect("open httpload");
        for name in known_funcs::KNOWN {
            if bin.function(name).is_none() {
                continue;
            }
            let dwarf = bin.params(name).expect("DWARF params");
            let mut table = known_funcs::signature(name, bin.go_release()).expect("known");
            gprobe_compiler::gobin::assign_abi(bin.arch(), &mut table);
            let shape = |ps: &[gprobe_compiler::gobin::GoParam]| {
                ps.iter()
                    .map(|p| {
                        (
                            target::script_name(&p.name),
                            p.is_result,
                            format!("{:?}", p.location),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                shape(&table),
                shape(&dwarf.params),
                "Go {version}: built-in signature of {name}"
            );
        }
    }
}

/// The TLS slot of g from the ELF symbol table: `runtime.tlsg`'s offset in the executable's TLS
/// block (PT_TLS), which sits just below the thread pointer on x86-64.
fn tlsg_from_symtab(path: &std::path::Path) -> Option<i64> {
    use object::read::elf::{ElfFile64, ProgramHeader};
    use object::{Object, ObjectSymbol};
    let data = std::fs::read(path).unwrap();
    let elf = ElfFile64::<object::Endianness>::parse(&*data).unwrap();
    let endian = elf.endian();
    let tls = elf
        .elf_program_headers()
        .iter()
        .find(|p| p.p_type(endian) == object::elf::PT_TLS)?;
    let align = tls.p_align(endian).max(1);
    let block = tls.p_memsz(endian).div_ceil(align) * align;
    let tlsg = elf.symbols().find(|s| s.name() == Ok("runtime.tlsg"))?;
    Some(tlsg.address() as i64 - block as i64)
}

/// g's TLS slot: -8 for internally linked programs, stripped or not; in a cgo program whose C
/// code has `__thread` variables, where the symbol table and PT_TLS put `runtime.tlsg`.
#[test]
fn tls_slot_of_g() {
    for version in VERSIONS {
        for flavour in [Flavour::Plain, Flavour::Stripped] {
            let Some(path) = target("goids", version, flavour) else {
                continue;
            };
            let bin = GoBinary::open(&path).unwrap();
            assert_eq!(bin.tls_g_offset(), -8, "{version} {flavour:?}");
        }
        let Some(path) = target("cgotls", version, Flavour::Cgo) else {
            continue;
        };
        let bin = GoBinary::open(&path).unwrap();
        let expected = tlsg_from_symtab(&path).expect("runtime.tlsg and PT_TLS in a cgo build");
        assert_ne!(
            expected, -8,
            "{version}: C thread locals should move the slot"
        );
        assert_eq!(bin.tls_g_offset(), expected, "{version} cgo");
    }
}

/// A binary stripped after the build (`objcopy --strip-all`) with its debug file
/// (`objcopy --only-keep-debug`): the same parameters, struct layouts and runtime offsets as
/// the unstripped binary; the debug file of another build (the PIE twin) is refused.
#[test]
fn debug_file_gives_the_stripped_binary_its_dwarf() {
    use gprobe_compiler::gobin::DwarfSource;
    let dir = std::env::temp_dir().join(format!("gprobe-gobin-debugfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for version in VERSIONS {
        let (Some(path), Some(pie)) = (
            target("probe", version, Flavour::Plain),
            target("probe", version, Flavour::Pie),
        ) else {
            continue;
        };
        let debug = dir.join(format!("probe-{version}.debug"));
        let stripped = dir.join(format!("probe-{version}"));
        let other = dir.join(format!("probe-pie-{version}.debug"));
        for (args, out) in [
            (["--only-keep-debug", path.to_str().unwrap()], &debug),
            (["--strip-all", path.to_str().unwrap()], &stripped),
            (["--only-keep-debug", pie.to_str().unwrap()], &other),
        ] {
            let status = std::process::Command::new("objcopy")
                .args(args)
                .arg(out)
                .status()
                .expect("objcopy (binutils)");
            assert!(status.success());
        }
        let bin = GoBinary::open(&path).unwrap();
        let mut sbin = GoBinary::open(&stripped).unwrap();
        assert!(!sbin.has_dwarf(), "{version}");
        assert_eq!(sbin.dwarf_source(), DwarfSource::None);
        assert_eq!(sbin.build_ids(), bin.build_ids(), "{version}");
        assert!(sbin.build_ids().go.is_some(), "{version}: no Go build id");

        let refused = sbin.use_debug_file(&other).unwrap_err();
        assert!(
            matches!(refused, GoBinError::DebugFileMismatch(_)),
            "{version}: {refused}"
        );
        assert!(!sbin.has_dwarf(), "{version}: a refused file was kept");

        sbin.use_debug_file(&debug).unwrap();
        assert_eq!(sbin.dwarf_source(), DwarfSource::DebugFile(debug.clone()));
        for name in ["main.Probe", "main.(*pair).sum", "main.blankResult"] {
            assert_eq!(
                sbin.params(name).unwrap(),
                bin.params(name).unwrap(),
                "{version}: {name}"
            );
        }
        assert_eq!(sbin.go_struct("runtime.g"), bin.go_struct("runtime.g"));
        let offsets = sbin.runtime_offsets();
        assert_eq!(offsets.source, OffsetSource::Dwarf, "{version}");
        assert_eq!(offsets, bin.runtime_offsets(), "{version}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The database/sql entries of the built-in tables (the sql recipe's, for stripped binaries)
/// agree with DWARF of a lib/pq program (tests/go/sqlmix) on every toolchain of the matrix:
/// signatures with ABI locations, and `Stmt.query`'s offset. Go 1.19's DWARF lists no
/// parameters for method-value wrappers (`-fm`), which is why the table has them.
#[test]
fn database_sql_tables_agree_with_dwarf() {
    use gprobe_compiler::gobin::{known_funcs, known_types};
    use gprobe_compiler::target;
    for version in VERSIONS {
        let Some(path) = target("sqlmix", version, Flavour::Plain) else {
            continue;
        };
        let bin = GoBinary::open(&path).expect("open sqlmix");
        let mut checked = 0;
        for name in known_funcs::KNOWN
            .iter()
            .filter(|n| n.starts_with("database/sql"))
        {
            if bin.function(name).is_none() {
                continue;
            }
            let dwarf = bin.params(name).expect("DWARF params");
            if dwarf.params.is_empty() && name.ends_with("-fm") {
                continue;
            }
            let mut table = known_funcs::signature(name, bin.go_release()).expect("known");
            gprobe_compiler::gobin::assign_abi(bin.arch(), &mut table);
            let shape = |ps: &[gprobe_compiler::gobin::GoParam]| {
                ps.iter()
                    .map(|p| {
                        (
                            target::script_name(&p.name),
                            p.is_result,
                            format!("{:?}", p.location),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                shape(&table),
                shape(&dwarf.params),
                "Go {version}: built-in signature of {name}"
            );
            checked += 1;
        }
        assert!(checked >= 5, "Go {version}: only {checked} checked");
        for name in ["database/sql.Stmt", "database/sql.driverConn"] {
            let dwarf = bin.go_struct(name).unwrap();
            let builtin = known_types::struct_type(name, release(version)).unwrap();
            for f in &builtin.fields {
                let d = dwarf.field(&f.name).unwrap();
                assert_eq!(d.offset, f.offset, "{version}: {name}.{}", f.name);
                assert_eq!(d.ty, f.ty, "{version}: {name}.{}", f.name);
            }
        }
    }
}
