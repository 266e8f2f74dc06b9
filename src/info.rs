//! `gprobe --info`: what this kernel and machine support, probe type by probe type, found by
//! looking (PMUs, tracefs, kallsyms) and, for fentry, by loading a program.

use gprobe_runtime::features;

pub fn report() -> String {
    let uname = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut out = format!(
        "System\n  kernel: {}\n  gprobe: {}\n\nProbe types\n",
        uname.trim(),
        env!("CARGO_PKG_VERSION")
    );
    let tracefs = gprobe_runtime::tracefs::ensure_mounted()
        .map(|_| ())
        .map_err(|e| e.to_string());
    let rows: Vec<(&str, Result<(), String>)> = vec![
        ("uprobe, uretprobe", features::pmu("uprobe")),
        ("uprobe-multi links", features::uprobe_multi()),
        ("tracepoint", tracefs),
        ("rawtracepoint", features::raw_tracepoints()),
        ("kprobe, kretprobe", gprobe_runtime::kprobes_available()),
        ("kfunc, kretfunc (fentry/fexit)", features::fentry()),
        ("BTF raw tracepoints (tp_btf)", features::btf_tracepoints()),
        ("profile, interval, software", features::pmu("software")),
        ("hardware", gprobe_runtime::perf_event::hardware_available()),
        (
            "watchpoint, asyncwatchpoint",
            gprobe_runtime::perf_event::breakpoints_available(),
        ),
    ];
    push_rows(&mut out, &rows);
    out.push_str("\nKernel features\n");
    push_rows(
        &mut out,
        &[
            ("BTF (/sys/kernel/btf/vmlinux)", features::kernel_btf()),
            ("ring buffer maps", features::ringbuf()),
        ],
    );
    out
}

fn push_rows(out: &mut String, rows: &[(&str, Result<(), String>)]) {
    for (what, result) in rows {
        match result {
            Ok(()) => out.push_str(&format!("  {what}: yes\n")),
            Err(why) => out.push_str(&format!("  {what}: no ({why})\n")),
        }
    }
}
