//! `-l 'usdt:BIN:*'` (and `usdt:BIN:PROV:NAME` globs, `usdt:*` with `-p`): a binary's USDT
//! probes from its `.note.stapsdt`, one `usdt:BIN:PROVIDER:NAME` per line as bpftrace lists
//! them; with `-v` each followed by its arguments (`arg0 int32 (-4@%eax)`).

use gprobe_compiler::usdt::{self, UsdtProbe};
use std::process::ExitCode;

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
    let shown = match pid {
        Some(_) if binary.starts_with("/proc/") => {
            std::fs::canonicalize(&binary).map_or(binary.clone(), |p| p.display().to_string())
        }
        _ => binary.clone(),
    };
    let probes = match std::fs::read(&binary)
        .map_err(|e| e.to_string())
        .and_then(|data| usdt::probes(&data))
    {
        Ok(probes) => probes,
        Err(e) => {
            eprintln!("gprobe: error: {binary}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (provider, name) = (
        if provider.is_empty() { "*" } else { provider },
        if name.is_empty() { "*" } else { name },
    );
    let mut seen: Vec<&UsdtProbe> = Vec::new();
    for p in &probes {
        // Sites of one probe (inlined copies) list once, with the first site's arguments.
        if p.matches(Some(provider), name) && !seen.iter().any(|s| s.full_name() == p.full_name()) {
            seen.push(p);
        }
    }
    seen.sort_by_key(|p| p.full_name());
    let mut out = String::new();
    for p in seen {
        out.push_str(&format!("usdt:{shown}:{}\n", p.full_name()));
        if verbose {
            for (i, arg) in p.args.iter().enumerate() {
                out.push_str(&format!("    arg{i} {} ({})\n", arg.type_name(), arg.spec));
            }
        }
    }
    super::print_out(&out)
}
