//! Uprobes through one `BPF_TRACE_UPROBE_MULTI` link per program (Linux 6.6+), with raw
//! `bpf(2)` calls: aya 0.14 has no API for it.
//!
//! Why: with perf-event uprobes every attach offset is its own perf event, and closing each
//! one waits for RCU grace periods in the kernel (~80–130 ms here; 6 offsets ~0.6–0.9 s at
//! exit). A multi link registers all offsets of a program at once and unregisters them with
//! one wait (~30–45 ms for 1 or 6 offsets), and needs no perf event or trace_uprobe.
//!
//! Such a program must be loaded with `expected_attach_type = BPF_TRACE_UPROBE_MULTI`, which
//! aya cannot set, so it is loaded here from the object's bytes, with the map fds aya created
//! patched into its map loads. This is only a fast path: any failure (an older kernel, a
//! verifier rejection, a bad pid) makes the caller use aya's perf-event path, which reports
//! errors with the verifier log as before.

use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_PROG_TYPE_KPROBE: u32 = 2;
const BPF_TRACE_UPROBE_MULTI: u32 = 48;
const BPF_PSEUDO_MAP_FD: u8 = 1;
const BPF_PSEUDO_MAP_VALUE: u8 = 2;
/// `BPF_LD | BPF_IMM | BPF_DW`: the first slot of a 64-bit immediate load (map references).
const LD_IMM64: u8 = 0x18;

/// The `bpf_attr` prefix of `BPF_PROG_LOAD` up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `bpf_attr` of `BPF_LINK_CREATE` for a uprobe-multi link.
#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    path: u64,
    offsets: u64,
    ref_ctr_offsets: u64,
    cookies: u64,
    cnt: u32,
    multi_flags: u32,
    pid: u32,
    _pad: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<OwnedFd> {
    // SAFETY: attr is a fully initialised bpf_attr prefix of the size passed; every pointer in
    // it refers to memory the caller keeps alive across this call.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, size_of::<T>()) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A map an instruction may refer to: its fd, and whether it is a data section (`.bss`), whose
/// references point at its value rather than at the map.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MapRef {
    pub fd: RawFd,
    pub data: bool,
}

/// Program `name`'s instructions from `object` (gprobe's ELF, see `compiler/src/elf.rs`), with
/// every map load pointing at the map's fd as aya would relocate it.
fn relocated_insns(
    object: &[u8],
    name: &str,
    maps: &HashMap<String, MapRef>,
) -> Result<Vec<u8>, String> {
    let file = object::File::parse(object).map_err(|e| e.to_string())?;
    let symbol = file
        .symbol_by_name(name)
        .ok_or_else(|| format!("no symbol {name}"))?;
    let section_index = symbol
        .section_index()
        .ok_or_else(|| format!("{name} has no section"))?;
    let section = file
        .section_by_index(section_index)
        .map_err(|e| e.to_string())?;
    let data = section.data().map_err(|e| e.to_string())?;
    let (start, len) = (symbol.address() as usize, symbol.size() as usize);
    let mut insns = data
        .get(start..start + len)
        .ok_or_else(|| format!("{name} lies outside its section"))?
        .to_vec();
    for (offset, reloc) in section.relocations() {
        let Some(at) = (offset as usize)
            .checked_sub(start)
            .filter(|at| at + 16 <= len && at % 8 == 0)
        else {
            continue;
        };
        let RelocationTarget::Symbol(target) = reloc.target() else {
            return Err(format!("unexpected relocation at {offset}"));
        };
        let target = file.symbol_by_index(target).map_err(|e| e.to_string())?;
        let map_name = target.name().map_err(|e| e.to_string())?;
        let map = maps
            .get(map_name)
            .ok_or_else(|| format!("no map {map_name}"))?;
        if insns[at] != LD_IMM64 {
            return Err(format!("relocation at {offset} is not a 64-bit load"));
        }
        let imm = |insns: &[u8], at: usize| {
            i32::from_le_bytes(insns[at + 4..at + 8].try_into().expect("4 bytes"))
        };
        let src = if map.data {
            // The value's address: offset of the symbol in the section plus the instruction's.
            let value_offset = imm(&insns, at) + target.address() as i32;
            insns[at + 12..at + 16].copy_from_slice(&value_offset.to_le_bytes());
            BPF_PSEUDO_MAP_VALUE
        } else {
            BPF_PSEUDO_MAP_FD
        };
        insns[at + 1] = (insns[at + 1] & 0x0f) | (src << 4);
        insns[at + 4..at + 8].copy_from_slice(&map.fd.to_le_bytes());
    }
    Ok(insns)
}

/// Loads program `name` of `object` for uprobe-multi links. `Err` says why (the caller then
/// loads it through aya instead).
pub(crate) fn load(
    object: &[u8],
    name: &str,
    maps: &HashMap<String, MapRef>,
) -> Result<OwnedFd, String> {
    let insns = relocated_insns(object, name, maps)?;
    let mut prog_name = [0u8; 16];
    for (dst, src) in prog_name.iter_mut().zip(name.bytes().take(15)) {
        *dst = src;
    }
    let license = c"GPL";
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_KPROBE,
        insn_cnt: (insns.len() / 8) as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name,
        expected_attach_type: BPF_TRACE_UPROBE_MULTI,
        ..ProgLoadAttr::default()
    };
    bpf(BPF_PROG_LOAD, &mut attr).map_err(|e| e.to_string())
}

/// Attaches `prog` at every file offset in `offsets` of `binary` with one link; `pid` narrows
/// it to that process. `ref_ctrs` (one per offset, 0: none) are USDT semaphores: the kernel
/// counts each up in every process the probe is in while attached, and back down when the
/// link closes. Dropping the returned fd detaches everything.
pub(crate) fn attach(
    prog: &OwnedFd,
    binary: &Path,
    offsets: &[u64],
    ref_ctrs: Option<&[u64]>,
    cookies: Option<&[u64]>,
    pid: Option<u32>,
) -> io::Result<OwnedFd> {
    if ref_ctrs.is_some_and(|r| r.len() != offsets.len())
        || cookies.is_some_and(|c| c.len() != offsets.len())
    {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    let path = CString::new(binary.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut attr = LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_TRACE_UPROBE_MULTI,
        path: path.as_ptr() as u64,
        offsets: offsets.as_ptr() as u64,
        ref_ctr_offsets: ref_ctrs.map_or(0, |r| r.as_ptr() as u64),
        cookies: cookies.map_or(0, |c| c.as_ptr() as u64),
        cnt: offsets.len() as u32,
        pid: pid.unwrap_or(0),
        ..LinkCreateAttr::default()
    };
    bpf(BPF_LINK_CREATE, &mut attr)
}

/// Closes uprobe-multi links, all at once: each close waits for RCU grace periods in the kernel
/// (~30–45 ms here), and concurrent waits share them (6 links: ~250 ms one after another,
/// ~65 ms together; perf-event uprobes gain little this way, their teardown is serialised).
/// Returns when every link is closed, so nothing stays attached once this returns.
pub(crate) fn close_all(links: Vec<OwnedFd>) {
    if links.len() <= 1 {
        drop(links);
        return;
    }
    std::thread::scope(|scope| {
        for link in links {
            // A thread that cannot start drops its closure, and so closes the link, right here.
            let _ = std::thread::Builder::new().spawn_scoped(scope, move || drop(link));
        }
    });
}
