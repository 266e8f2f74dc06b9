//! What kprobes need from this kernel: whether it has them at all (CONFIG_KPROBES), and the
//! functions a glob (`kprobe:vfs_*`) names, from tracefs's list of traceable functions, as
//! bpftrace expands them.

use gprobe_compiler::names::glob_match;
use std::path::Path;

/// The kprobe PMU: present exactly when the kernel was built with CONFIG_KPROBES.
const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe";

/// `Err` says why kprobes cannot attach here, naming the kernel option.
pub fn kprobes_available() -> Result<(), String> {
    if Path::new(KPROBE_PMU).exists() {
        Ok(())
    } else {
        Err(format!(
            "this kernel has no kprobes (it was built without CONFIG_KPROBES: {KPROBE_PMU} is missing)"
        ))
    }
}

/// The kernel functions `pattern` matches (itself when it has no wildcard), from tracefs's
/// `available_filter_functions` (module functions carry a `[module]` suffix there).
pub fn functions_matching(pattern: &str) -> Vec<String> {
    if !pattern.contains(['*', '?']) {
        return vec![pattern.to_string()];
    }
    let Ok(root) = crate::tracefs::ensure_mounted() else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(root.join("available_filter_functions")).unwrap_or_default();
    let mut out: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|f| glob_match(pattern, f))
        .map(String::from)
        .collect();
    out.sort();
    out.dedup();
    out
}
