//! `software:`, `hardware:` and `watchpoint:` probes: bpftrace's event names to perf-event
//! configs, whether this machine can count hardware events, and attaching the perf-event
//! program (per CPU for counters, to the target process for watchpoints).

use aya::programs::PerfEvent;
use aya::programs::perf_event::{
    HardwareEvent, PerfEventConfig, PerfEventScope, SamplePolicy, SoftwareEvent,
};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
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
/// matching access, with `p` attached to it. Opened here rather than through aya, which sets
/// `precise_ip` on breakpoints, and the kernel then refuses (EPROTO) a program that walks
/// stacks (`ustack`). Returns the program fd (a copy) and the perf event fd: closing the latter
/// detaches.
pub(crate) fn attach_watchpoint(
    p: &mut PerfEvent,
    pid: Option<u32>,
    address: u64,
    len: u8,
    mode: &str,
) -> Result<(OwnedFd, OwnedFd), String> {
    breakpoints_available()?;
    let pid = pid.ok_or("a watchpoint needs a target process (-p PID or -c CMD)")?;
    if !matches!(len, 1 | 2 | 4 | 8) {
        return Err(format!("watchpoint length {len} is not 1, 2, 4 or 8"));
    }
    // HW_BREAKPOINT_R = 1, W = 2, RW = 3, X = 4; an execute breakpoint covers one long.
    let (bp_type, bp_len) = match mode {
        "r" => (1u32, u64::from(len)),
        "w" => (2, u64::from(len)),
        "rw" => (3, u64::from(len)),
        "x" => (4, std::mem::size_of::<libc::c_long>() as u64),
        other => return Err(format!("invalid watchpoint mode `{other}`")),
    };
    let prog = p
        .fd()
        .map_err(|e| crate::kernel::chain(&e))?
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| e.to_string())?;
    let perf = open_breakpoint(pid, address, bp_type, bp_len).map_err(|e| {
        let why = e.to_string();
        match e.raw_os_error() {
            Some(libc::ENOSPC) => format!("{why}: every debug register is in use (x86 has four)"),
            Some(libc::ESRCH) => format!("{why}: process {pid} is gone"),
            _ => format!("perf_event_open of the breakpoint: {why}"),
        }
    })?;
    // SAFETY: both fds are open and ours; the ioctls take an int argument.
    unsafe {
        if libc::ioctl(perf.as_raw_fd(), PERF_EVENT_IOC_SET_BPF, prog.as_raw_fd()) != 0 {
            return Err(format!(
                "attaching the program to the breakpoint: {}",
                std::io::Error::last_os_error()
            ));
        }
        if libc::ioctl(perf.as_raw_fd(), PERF_EVENT_IOC_ENABLE, 0) != 0 {
            return Err(format!(
                "enabling the breakpoint: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok((prog, perf))
}

const PERF_TYPE_BREAKPOINT: u32 = 5;
/// `_IOW('$', 8, u32)` and `_IO('$', 0)`.
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
/// PERF_ATTR_SIZE_VER1: up to `config2` (`bp_len`).
const PERF_ATTR_SIZE: usize = 72;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;

/// `perf_event_open` of a data or execute breakpoint in `pid` (and the threads and children it
/// makes: inherit), disabled until the program is attached, every hit a sample.
fn open_breakpoint(pid: u32, address: u64, bp_type: u32, bp_len: u64) -> std::io::Result<OwnedFd> {
    let mut attr = [0u8; PERF_ATTR_SIZE];
    let mut put = |off: usize, bytes: &[u8]| attr[off..off + bytes.len()].copy_from_slice(bytes);
    put(0, &PERF_TYPE_BREAKPOINT.to_ne_bytes()); // type
    put(4, &(PERF_ATTR_SIZE as u32).to_ne_bytes()); // size
    put(16, &1u64.to_ne_bytes()); // sample_period
    put(40, &0b11u64.to_ne_bytes()); // flags: disabled, inherit
    put(48, &1u32.to_ne_bytes()); // wakeup_events
    put(52, &bp_type.to_ne_bytes()); // bp_type
    put(56, &address.to_ne_bytes()); // bp_addr
    put(64, &bp_len.to_ne_bytes()); // bp_len
    // SAFETY: attr is a perf_event_attr of `size` bytes that outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            pid as libc::pid_t,
            -1 as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
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
