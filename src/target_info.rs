//! The Go target before tracing: its debug file checked (`--debug-file`), and with `-v` what
//! gprobe knows of it: Go version, main module, library modules (or, for a GOPATH build, the
//! libraries its functions come from), where DWARF comes from.

use crate::env::SystemEnv;
use gprobe_compiler::gobin::{GoBinary, libraries};
use std::path::Path;

/// Fails when `--debug-file` was given but has no target or is not the target's; with
/// `verbose`, prints [`describe`] of a Go target to stderr.
pub fn check_and_describe(env: &SystemEnv, debug_file: bool, verbose: bool) -> Result<(), String> {
    let Some((path, bin)) = env.target_binary() else {
        return match debug_file {
            true => {
                Err("--debug-file needs the binary it belongs to: give -p PID or -c CMD".into())
            }
            false => Ok(()),
        };
    };
    match &*bin {
        Ok(bin) if verbose => eprint!("{}", describe(&path, bin)),
        Ok(_) => {}
        Err(e) if debug_file => return Err(e.to_string()),
        // Not Go (a C target): the checker reports what it cannot do with it.
        Err(_) => {}
    }
    Ok(())
}

/// `gprobe: target …` lines: Go version, main module, library modules, DWARF source.
pub fn describe(path: &Path, bin: &GoBinary) -> String {
    let mut out = format!("gprobe: target {}\n", path.display());
    let line = |out: &mut String, what: &str, text: &str| {
        out.push_str(&format!("gprobe:   {what}: {text}\n"));
    };
    match bin.build_info() {
        Some(info) => {
            line(&mut out, "Go version", &info.go_version);
            match (info.main(), &info.main_path) {
                (Some(m), Some(p)) if p != &m.path => {
                    line(&mut out, "main module", &format!("{m} (package {p})"))
                }
                (Some(m), _) => line(&mut out, "main module", &m.to_string()),
                (None, Some(p)) => line(
                    &mut out,
                    "main module",
                    &format!("none (GOPATH build of package {p})"),
                ),
                (None, None) => line(&mut out, "main module", "none recorded"),
            }
            let modules = info.modules();
            if modules.is_empty() {
                line(&mut out, "library modules", "none recorded");
                // A GOPATH build (Debian's) records no modules: the libraries its functions
                // come from, without versions.
                let linked = bin.linked_libraries();
                if !linked.is_empty() {
                    line(
                        &mut out,
                        "libraries linked (from the function table; no versions)",
                        &linked.len().to_string(),
                    );
                    for l in linked {
                        out.push_str(&format!("gprobe:     {l}\n"));
                    }
                }
            } else {
                line(&mut out, "library modules", &modules.len().to_string());
                for m in modules {
                    out.push_str(&format!("gprobe:     {m}\n"));
                }
            }
        }
        None => line(
            &mut out,
            "Go version",
            &format!(
                "unknown (no .go.buildinfo; the function table says go1.{} or later)",
                bin.go_release().1
            ),
        ),
    }
    line(&mut out, "DWARF", &bin.dwarf_source().to_string());
    // The libraries gprobe has layout tables for, as this binary links them: what a recipe or
    // `args.NAME` reads of them without DWARF, or why it cannot.
    for lib in libraries::LIBRARIES {
        if !libraries::links(bin, lib) {
            continue;
        }
        let text = match libraries::row_of_binary(bin, lib) {
            Ok(row) => {
                let (first, last) = row.go;
                let from = libraries::detect_version(bin, lib).map_or("", |(_, from)| from);
                format!(
                    "v{} (Go {}.{}-{}.{}; version from {from})",
                    row.version, first.0, first.1, last.0, last.1
                )
            }
            Err(why) => why,
        };
        line(
            &mut out,
            &format!("{} in gprobe's layout tables", lib.module),
            &text,
        );
    }
    out
}
