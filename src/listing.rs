//! `-l` beyond tracepoints: the software and hardware perf events (bpftrace's names, with
//! aliases and default counts under `-v`), and with `-p` the functions of the process's binary.

use gprobe_compiler::names::glob_match;
use gprobe_compiler::syntax::perf::{HARDWARE, PerfEventName, SOFTWARE};

/// `-l 'software:*'` / `-l 'h:*cycles*'`: that provider's events, `None` for other patterns.
pub fn perf_events(pattern: &str) -> Option<String> {
    let (provider, rest) = pattern.trim().split_once(':')?;
    let (name, table) = match provider {
        "software" | "s" => ("software", SOFTWARE),
        "hardware" | "h" => ("hardware", HARDWARE),
        _ => return None,
    };
    let glob = rest.trim_end_matches(':');
    let glob = if glob.is_empty() { "*" } else { glob };
    Some(lines(name, table, |e| {
        glob_match(glob, e.name) || (!e.alias.is_empty() && glob_match(glob, e.alias))
    }))
}

/// A pattern without a provider (`-l`, `-l '*sched_switch*'`), matched against the whole
/// `software:NAME:` line.
pub fn perf_events_matching(pattern: &str) -> String {
    let pattern = pattern.trim();
    if pattern.contains(':') {
        return String::new();
    }
    let mut out = lines("software", SOFTWARE, |e| {
        glob_match(pattern, &format!("software:{}:", e.name))
    });
    out.push_str(&lines("hardware", HARDWARE, |e| {
        glob_match(pattern, &format!("hardware:{}:", e.name))
    }));
    out
}

fn lines(provider: &str, table: &[PerfEventName], keep: impl Fn(&PerfEventName) -> bool) -> String {
    table
        .iter()
        .filter(|e| keep(e))
        .map(|e| format!("{provider}:{}:\n", e.name))
        .collect()
}

/// `-l -p PID`: the Go functions of the process's executable as `uprobe:` lines (a non-Go
/// executable lists nothing here).
pub fn target_functions(pid: u32, pattern: &str) -> String {
    let exe = format!("/proc/{pid}/exe");
    let Ok(bin) = gprobe_compiler::gobin::GoBinary::open(&exe) else {
        return String::new();
    };
    let shown = std::fs::read_link(&exe).map_or(exe.clone(), |p| p.display().to_string());
    let mut names: Vec<String> = bin
        .functions_matching("*")
        .into_iter()
        .map(|f| format!("uprobe:{shown}:{}", f.name))
        .filter(|line| glob_match(pattern, line))
        .collect();
    names.sort_unstable();
    names.dedup();
    names.into_iter().map(|l| l + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_and_bare_patterns() {
        let sw = perf_events("software:*").unwrap();
        assert_eq!(sw.lines().count(), SOFTWARE.len());
        assert_eq!(perf_events("s:cs").unwrap(), "software:context-switches:\n");
        assert_eq!(perf_events("tracepoint:*"), None);
        assert_eq!(
            perf_events_matching("*faults*")
                .lines()
                .filter(|l| l.starts_with("software:"))
                .count(),
            5
        );
        assert!(perf_events_matching("*").contains("hardware:cpu-cycles:\n"));
        assert_eq!(perf_events_matching("*sched_switch*"), "");
    }
}
