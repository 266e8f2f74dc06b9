//! `software:`, `hardware:` and `watchpoint:` probes: bpftrace's event names to perf-event
//! configs, whether this machine can count hardware events, and attaching the perf-event
//! program (per CPU for counters, to the target process for watchpoints).

use aya::programs::PerfEvent;
use aya::programs::perf_event::{
    BreakpointConfig, HardwareEvent, PerfBreakpointLength, PerfBreakpointType, PerfEventConfig,
    PerfEventScope, SamplePolicy, SoftwareEvent,
};
use std::path::Path;

/// The core PMU: present where the CPU's counters are exposed (absent in most VMs).
const CPU_PMU: &str = "/sys/bus/event_source/devices/cpu";
/// Hardware breakpoints (debug registers), for watchpoints.
const BREAKPOINT_PMU: &str = "/sys/bus/event_source/devices/breakpoint";

/// `Err` says why `hardware:` events cannot be opened here.
pub fn hardware_available() -> Result<(), String> {
    if Path::new(CPU_PMU).exists() {
        Ok(())
    } else {
        Err(format!(
            "this machine exposes no CPU performance counters ({CPU_PMU} is missing; a VM without a virtual PMU has none)"
        ))
    }
}

/// `Err` says why watchpoints cannot be set here.
pub fn breakpoints_available() -> Result<(), String> {
    if Path::new(BREAKPOINT_PMU).exists() {
        Ok(())
    } else {
        Err(format!(
            "this kernel has no hardware breakpoints ({BREAKPOINT_PMU} is missing: CONFIG_HAVE_HW_BREAKPOINT)"
        ))
    }
}

fn software(event: &str) -> Option<SoftwareEvent> {
    Some(match event {
        "alignment-faults" => SoftwareEvent::AlignmentFaults,
        "bpf-output" => SoftwareEvent::BpfOutput,
        "context-switches" => SoftwareEvent::ContextSwitches,
        "cpu-clock" => SoftwareEvent::CpuClock,
        "cpu-migrations" => SoftwareEvent::CpuMigrations,
        "dummy" => SoftwareEvent::Dummy,
        "emulation-faults" => SoftwareEvent::EmulationFaults,
        "major-faults" => SoftwareEvent::PageFaultsMaj,
        "minor-faults" => SoftwareEvent::PageFaultsMin,
        "page-faults" => SoftwareEvent::PageFaults,
        "task-clock" => SoftwareEvent::TaskClock,
        _ => return None,
    })
}

fn hardware(event: &str) -> Option<HardwareEvent> {
    Some(match event {
        "backend-stalls" => HardwareEvent::StalledCyclesBackend,
        "branch-instructions" => HardwareEvent::BranchInstructions,
        "branch-misses" => HardwareEvent::BranchMisses,
        "bus-cycles" => HardwareEvent::BusCycles,
        "cache-misses" => HardwareEvent::CacheMisses,
        "cache-references" => HardwareEvent::CacheReferences,
        "cpu-cycles" => HardwareEvent::CpuCycles,
        "frontend-stalls" => HardwareEvent::StalledCyclesFrontend,
        "instructions" => HardwareEvent::Instructions,
        "ref-cycles" => HardwareEvent::RefCpuCycles,
        _ => return None,
    })
}

/// A `software:`/`hardware:` counter sampled every `count` events, on every CPU, in every
/// process (as bpftrace: the predicate narrows it to a pid).
pub(crate) fn attach_counter(
    p: &mut PerfEvent,
    hardware_event: bool,
    event: &str,
    count: u64,
) -> Result<(), String> {
    let config = if hardware_event {
        hardware_available()?;
        PerfEventConfig::Hardware(
            hardware(event).ok_or_else(|| format!("`{event}` is not a hardware event"))?,
        )
    } else {
        PerfEventConfig::Software(
            software(event).ok_or_else(|| format!("`{event}` is not a software event"))?,
        )
    };
    let cpus = aya::util::online_cpus().map_err(|(what, e)| format!("{what}: {e}"))?;
    for cpu in cpus {
        p.attach(
            config,
            PerfEventScope::AllProcessesOneCpu { cpu },
            SamplePolicy::Period(count),
            true,
        )
        .map_err(|e| crate::kernel::chain(&e))?;
    }
    Ok(())
}

/// A watchpoint: one breakpoint perf event on the target process, any CPU, firing on every
/// matching access.
pub(crate) fn attach_watchpoint(
    p: &mut PerfEvent,
    pid: Option<u32>,
    address: u64,
    len: u8,
    mode: &str,
) -> Result<(), String> {
    breakpoints_available()?;
    let pid = pid.ok_or("a watchpoint needs a target process (-p PID or -c CMD)")?;
    let length = match len {
        1 => PerfBreakpointLength::Len1,
        2 => PerfBreakpointLength::Len2,
        4 => PerfBreakpointLength::Len4,
        8 => PerfBreakpointLength::Len8,
        other => return Err(format!("watchpoint length {other} is not 1, 2, 4 or 8")),
    };
    let bp = match mode {
        "r" => BreakpointConfig::Data {
            r#type: PerfBreakpointType::Read,
            address,
            length,
        },
        "w" => BreakpointConfig::Data {
            r#type: PerfBreakpointType::Write,
            address,
            length,
        },
        "rw" => BreakpointConfig::Data {
            r#type: PerfBreakpointType::ReadWrite,
            address,
            length,
        },
        "x" => BreakpointConfig::Instruction { address },
        other => return Err(format!("invalid watchpoint mode `{other}`")),
    };
    p.attach(
        PerfEventConfig::Breakpoint(bp),
        PerfEventScope::OneProcess { pid, cpu: None },
        SamplePolicy::Period(1),
        true,
    )
    .map_err(|e| {
        let why = crate::kernel::chain(&e);
        if why.contains("No space left") || why.contains("os error 28") {
            format!("{why}: every debug register is in use (x86 has four)")
        } else if why.contains("os error 71") {
            // aya opens breakpoints with precise_ip set, and the kernel then refuses programs
            // that walk stacks unless the event records callchains.
            format!("{why}: ustack/kstack cannot be used in a watchpoint probe yet")
        } else if why.contains("No such process") {
            format!("{why}: process {pid} is gone")
        } else {
            why
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use gprobe_compiler::syntax::perf::{HARDWARE, SOFTWARE};

    #[test]
    fn every_listed_event_has_a_config() {
        for e in SOFTWARE {
            assert!(super::software(e.name).is_some(), "{}", e.name);
        }
        for e in HARDWARE {
            assert!(super::hardware(e.name).is_some(), "{}", e.name);
        }
    }
}
