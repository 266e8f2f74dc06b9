//! Helpers for gprobe's own tests, shared by the runtime's kernel tests and the CLI's end-to-end
//! tests. Not a stable API.

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

/// Loaded gprobe programs (named `gp_*`) that no live process holds an fd to, apart from the
/// processes in `not_holders`: programs that outlived whoever loaded them. Programs a running
/// gprobe holds (another test, another user) are not leaks, so this works while other gprobes
/// run. A test that loaded programs in its own process passes its own pid: once its session is
/// dropped, whatever it still holds is a leak too.
///
/// The kernel frees a program shortly after its last reference goes, so a candidate must still be
/// there after a short settling time to count.
pub fn leaked_programs(not_holders: &[u32]) -> Vec<String> {
    let settle = Duration::from_secs(2);
    let start = Instant::now();
    loop {
        let leaked = leaked_now(not_holders);
        if leaked.is_empty() || start.elapsed() >= settle {
            return leaked;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn leaked_now(not_holders: &[u32]) -> Vec<String> {
    let out = Command::new("bpftool")
        .args(["prog", "list", "-j"])
        .output()
        .expect("run bpftool (needed to list loaded programs)");
    let listing: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    let Some(programs) = listing.as_array() else {
        return Vec::new();
    };
    let held = programs_held(not_holders);
    programs
        .iter()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with("gp_")))
        .filter(|p| p["id"].as_u64().is_some_and(|id| !held.contains(&id)))
        .map(|p| format!("{} (id {})", p["name"].as_str().unwrap_or("?"), p["id"]))
        .collect()
}

/// Program ids that a live process other than `not_holders` holds an fd to (`prog_id:` in
/// /proc/PID/fdinfo/FD).
pub fn programs_held(not_holders: &[u32]) -> HashSet<u64> {
    let mut held = HashSet::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return held;
    };
    for proc in procs.flatten() {
        let pid = proc
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_none_or(|pid| not_holders.contains(&pid)) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc.path().join("fdinfo")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(info) = std::fs::read_to_string(fd.path()) else {
                continue;
            };
            for line in info.lines() {
                if let Some(id) = line.strip_prefix("prog_id:")
                    && let Ok(id) = id.trim().parse()
                {
                    held.insert(id);
                }
            }
        }
    }
    held
}
