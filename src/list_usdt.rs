//! `-l 'usdt:BIN:*'` (and `usdt:BIN:PROV:NAME` globs, `usdt:*` with `-p`): a binary's USDT
//! probes from its `.note.stapsdt`, one `usdt:BIN:PROVIDER:NAME` per line as bpftrace lists
//! them; with `-v` each followed by its arguments (`arg0 int32 (-4@%eax)`). With `-p` and no
//! binary, the process's executable and then the shared libraries it has mapped.

use gprobe_compiler::usdt::{self, UsdtProbe};
use std::path::PathBuf;
use std::process::ExitCode;

/// The files process `pid` has mapped (its executable, shared libraries), each once, in map
/// order, as paths this process can open: through `/proc/PID/root` when the process sees
/// another filesystem (a container).
pub fn mapped_libraries(pid: u32) -> Vec<PathBuf> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let same_root = std::fs::read_link(format!("/proc/{pid}/root"))
        .is_ok_and(|root| root == std::path::Path::new("/"));
    let mut out: Vec<PathBuf> = Vec::new();
    for line in maps.lines() {
        // address perms offset dev inode path
        let Some(path) = line
            .split_whitespace()
            .nth(5)
            .filter(|p| p.starts_with('/'))
        else {
            continue;
        };
        if line.ends_with(" (deleted)") {
            continue;
        }
        let path = if same_root {
            PathBuf::from(path)
        } else {
            PathBuf::from(format!("/proc/{pid}/root{path}"))
        };
        if !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

/// `rest` is what follows `usdt:`; `pid` stands for the binary when `rest` names none.
pub fn list(rest: &str, pid: Option<u32>, verbose: bool) -> ExitCode {
    let parts: Vec<&str> = rest.split(':').collect();
    let (binary, provider, name) = match (parts.as_slice(), pid) {
        ([name], Some(pid)) => (format!("/proc/{pid}/exe"), "*", *name),
        ([provider, name], Some(pid)) if !provider.contains('/') => {
            (format!("/proc/{pid}/exe"), *provider, *name)
        }
        ([binary], None) => (binary.to_string(), "*", "*"),
        ([binary, name], _) => (binary.to_string(), "*", *name),
        ([binary, provider, name], _) => (binary.to_string(), *provider, *name),
        _ => {
            eprintln!(
                "gprobe: error: `usdt:{rest}` needs a binary and a probe pattern, e.g. usdt:./prog:*"
            );
            return ExitCode::FAILURE;
        }
    };
    let of_process = pid.is_some() && binary.starts_with("/proc/");
    let shown = if of_process {
        std::fs::canonicalize(&binary).map_or(binary.clone(), |p| p.display().to_string())
    } else {
        binary.clone()
    };
    let probes = match usdt::probes_in_file(std::path::Path::new(&binary)) {
        Ok(probes) => probes,
        Err(e) => {
            eprintln!("gprobe: error: {binary}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut files = vec![(shown.clone(), probes)];
    if let (true, Some(pid)) = (of_process, pid) {
        for lib in mapped_libraries(pid) {
            let lib = lib.display().to_string();
            if lib == shown {
                continue;
            }
            if let Ok(probes) = usdt::probes_in_file(std::path::Path::new(&lib))
                && !probes.is_empty()
            {
                files.push((lib, probes));
            }
        }
    }
    let (provider, name) = (
        if provider.is_empty() { "*" } else { provider },
        if name.is_empty() { "*" } else { name },
    );
    let mut out = String::new();
    for (shown, probes) in &files {
        let mut seen: Vec<&UsdtProbe> = Vec::new();
        for p in probes {
            // Sites of one probe (inlined copies) list once, with the first site's arguments.
            if p.matches(Some(provider), name)
                && !seen.iter().any(|s| s.full_name() == p.full_name())
            {
                seen.push(p);
            }
        }
        seen.sort_by_key(|p| p.full_name());
        for p in seen {
            out.push_str(&format!("usdt:{shown}:{}\n", p.full_name()));
            if verbose {
                for (i, arg) in p.args.iter().enumerate() {
                    out.push_str(&format!("    arg{i} {} ({})\n", arg.type_name(), arg.spec));
                }
            }
        }
    }
    super::print_out(&out)
}
