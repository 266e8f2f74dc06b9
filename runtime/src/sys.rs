//! Raw `bpf(2)` map operations on byte buffers. aya's typed maps need key/value types known at
//! compile time; gprobe's layouts are only known at run time, so maps are read by fd here.

use std::io;
use std::os::fd::RawFd;

const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;

/// The `bpf_attr` layout of the map element commands.
#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value_or_next_key: u64,
    flags: u64,
}

fn bpf(cmd: libc::c_long, attr: &mut MapElemAttr) -> io::Result<()> {
    // SAFETY: attr is a valid, initialised bpf_attr prefix of the size passed; the kernel only
    // reads/writes the buffers it points at, which the callers size from the map's info.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut MapElemAttr,
            size_of::<MapElemAttr>(),
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A map by fd, with the sizes the kernel reports for it.
#[derive(Clone, Copy, Debug)]
pub struct RawMap {
    pub fd: RawFd,
    pub key_size: usize,
    pub value_size: usize,
    /// Copies per value: the number of possible CPUs for per-CPU maps, else 1.
    pub copies: usize,
}

impl RawMap {
    fn value_buf_len(&self) -> usize {
        if self.copies > 1 {
            self.value_size.div_ceil(8) * 8 * self.copies
        } else {
            self.value_size
        }
    }

    /// The value (all CPUs' copies, kernel layout) at `key`, or `None` if absent.
    pub fn lookup(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        let mut value = vec![0u8; self.value_buf_len()];
        let mut attr = MapElemAttr {
            map_fd: self.fd as u32,
            key: key.as_ptr() as u64,
            value_or_next_key: value.as_mut_ptr() as u64,
            ..Default::default()
        };
        match bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
            Ok(()) => Ok(Some(value)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `value` (all copies, kernel layout) at `key`.
    pub fn update(&self, key: &[u8], value: &[u8]) -> io::Result<()> {
        let mut attr = MapElemAttr {
            map_fd: self.fd as u32,
            key: key.as_ptr() as u64,
            value_or_next_key: value.as_ptr() as u64,
            ..Default::default()
        };
        bpf(BPF_MAP_UPDATE_ELEM, &mut attr)
    }

    pub fn delete(&self, key: &[u8]) -> io::Result<()> {
        let mut attr = MapElemAttr {
            map_fd: self.fd as u32,
            key: key.as_ptr() as u64,
            ..Default::default()
        };
        match bpf(BPF_MAP_DELETE_ELEM, &mut attr) {
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => Err(e),
            _ => Ok(()),
        }
    }

    /// Every key, in the kernel's iteration order.
    pub fn keys(&self) -> io::Result<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        let mut next = vec![0u8; self.key_size];
        let mut current: Option<Vec<u8>> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut attr = MapElemAttr {
                map_fd: self.fd as u32,
                // A null key asks for the first key.
                key: current.as_ref().map_or(0, |k| k.as_ptr() as u64),
                value_or_next_key: next.as_mut_ptr() as u64,
                ..Default::default()
            };
            match bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) {
                Ok(()) => {
                    // A key seen before means the walk restarted (its current key was
                    // replaced by a concurrent update); stop rather than walk forever.
                    if !seen.insert(next.clone()) {
                        return Ok(keys);
                    }
                    keys.push(next.clone());
                    current = Some(next.clone());
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(keys),
                Err(e) => return Err(e),
            }
            // A hash map being written to while walked could cycle; never walk further than
            // it can hold.
            if keys.len() > 1 << 24 {
                return Ok(keys);
            }
        }
    }
}

const BPF_PROG_TEST_RUN: libc::c_long = 10;

/// The `bpf_attr` layout of `BPF_PROG_TEST_RUN`.
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// Runs a loaded raw-tracepoint program once, now, on this thread, with an empty context;
/// returns its return value.
pub fn run_program_once(prog_fd: RawFd) -> io::Result<u32> {
    let mut attr = TestRunAttr {
        prog_fd: prog_fd as u32,
        ..TestRunAttr::default()
    };
    // SAFETY: attr is a valid, zero-padded bpf_attr prefix of the size passed; with no data or
    // context buffers the kernel reads nothing else and writes only `retval`/`duration`.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_TEST_RUN,
            &mut attr as *mut TestRunAttr,
            size_of::<TestRunAttr>(),
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(attr.retval)
    }
}
