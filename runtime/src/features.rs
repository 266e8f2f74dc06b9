//! What this kernel supports, found by trying (for `gprobe --info` and kfunc's diagnostic):
//! each check is cheap except [`fentry`], which parses the kernel's BTF (~50 ms).

use aya::programs::{BtfTracePoint, FEntry, RawTracePoint};
use aya::{Btf, EbpfLoader};
use gprobe_compiler::bpf::{Insn, Reg};
use gprobe_compiler::elf::{ElfProgram, write_object};
use std::path::Path;

/// `Ok` when a PMU of that name is registered (`uprobe`, `software`, `breakpoint`, …).
pub fn pmu(name: &str) -> Result<(), String> {
    let path = format!("/sys/bus/event_source/devices/{name}");
    if Path::new(&path).exists() {
        Ok(())
    } else {
        Err(format!("{path} is missing"))
    }
}

/// The kernel's own BTF, which fentry and BTF-typed probes need.
pub fn kernel_btf() -> Result<(), String> {
    if Path::new("/sys/kernel/btf/vmlinux").exists() {
        Ok(())
    } else {
        Err("/sys/kernel/btf/vmlinux is missing (CONFIG_DEBUG_INFO_BTF)".into())
    }
}

/// Whether the kernel has uprobe-multi links (6.6+), by its link-attach function.
pub fn uprobe_multi() -> Result<(), String> {
    let syms = std::fs::read_to_string("/proc/kallsyms").map_err(|e| e.to_string())?;
    if syms.contains(" bpf_uprobe_multi_link_attach") {
        Ok(())
    } else {
        Err("the kernel has no bpf_uprobe_multi_link_attach (6.6+, CONFIG_UPROBES)".into())
    }
}

/// Whether a BPF ring buffer map can be created (5.8+).
pub fn ringbuf() -> Result<(), String> {
    // union bpf_attr for BPF_MAP_CREATE: map_type, key_size, value_size, max_entries, rest 0.
    let mut attr = [0u32; 32];
    attr[0] = 27; // BPF_MAP_TYPE_RINGBUF
    attr[3] = 4096;
    // SAFETY: BPF_MAP_CREATE (0) reads `size` bytes of attr, which outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            0,
            attr.as_mut_ptr(),
            std::mem::size_of_val(&attr),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    // SAFETY: fd was just returned by the kernel and is ours.
    unsafe { libc::close(fd as i32) };
    Ok(())
}

/// Whether raw tracepoints (`rawtracepoint:`) load and attach: a do-nothing one on
/// `sched_switch`, detached at once.
pub fn raw_tracepoints() -> Result<(), String> {
    let insns = [Insn::mov64_imm(Reg(0), 0), Insn::exit()];
    let object = write_object(
        &[ElfProgram {
            section: "raw_tracepoint/probe",
            name: "gprobe_probe",
            insns: &insns,
            relocs: &[],
        }],
        &[],
    )
    .map_err(|e| e.to_string())?;
    let mut ebpf = EbpfLoader::new().load(&object).map_err(|e| e.to_string())?;
    let program: &mut RawTracePoint = ebpf
        .program_mut("gprobe_probe")
        .ok_or("the probe program is missing")?
        .try_into()
        .map_err(|e| format!("{e}"))?;
    program.load().map_err(|e| crate::kernel::chain(&e))?;
    program.attach("sched_switch").map(drop).map_err(|e| {
        format!(
            "attaching one to sched_switch: {}",
            crate::kernel::chain(&e)
        )
    })
}

/// Loads a do-nothing program of `section` (`fentry/…` or `tp_btf/…`) on `target`.
fn load_btf_program(fentry: bool, target: &str) -> Result<(), String> {
    let insns = [Insn::mov64_imm(Reg(0), 0), Insn::exit()];
    let section = if fentry {
        "fentry/probe"
    } else {
        "tp_btf/probe"
    };
    let object = write_object(
        &[ElfProgram {
            section,
            name: "gprobe_probe",
            insns: &insns,
            relocs: &[],
        }],
        &[],
    )
    .map_err(|e| e.to_string())?;
    let btf = Btf::from_sys_fs().map_err(|e| format!("reading the kernel's BTF: {e}"))?;
    let mut ebpf = EbpfLoader::new().load(&object).map_err(|e| e.to_string())?;
    let program = ebpf
        .program_mut("gprobe_probe")
        .ok_or("the probe program is missing")?;
    let result = if fentry {
        let p: &mut FEntry = program.try_into().map_err(|e| format!("{e}"))?;
        p.load(target, &btf)
    } else {
        let p: &mut BtfTracePoint = program.try_into().map_err(|e| format!("{e}"))?;
        p.load(target, &btf)
    };
    result.map_err(|e| {
        let why = crate::kernel::chain(&e);
        // An empty verifier log says the kernel refused before verifying.
        why.trim_end()
            .trim_end_matches("Verifier output:")
            .trim_end()
            .trim_end_matches('.')
            .to_string()
    })
}

/// Whether fentry/fexit programs (bpftrace's kfunc/kretfunc) load: one on `vfs_read`.
/// On this project's VMs the kernel refuses them with EPERM before verifying anything.
pub fn fentry() -> Result<(), String> {
    load_btf_program(true, "vfs_read")
        .map_err(|e| format!("loading a fentry program on vfs_read failed: {e}"))
}

/// Whether BTF raw tracepoints (`tp_btf`) load: one on `sched_switch`.
pub fn btf_tracepoints() -> Result<(), String> {
    load_btf_program(false, "sched_switch")
        .map_err(|e| format!("loading a tp_btf program on sched_switch failed: {e}"))
}
