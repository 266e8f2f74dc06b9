//! Text for the u64s the kernel keeps and user space renders ([`Render`]): errno text, user
//! names, MAC addresses, and `ntop`'s IP addresses, as bpftrace prints them.

use gprobe_compiler::types::Render;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

pub fn render(render: Render, raw: u64) -> String {
    match render {
        Render::Errno => errno_text(raw as i64),
        Render::Username => username(raw as u32),
        Render::Mac => {
            let b = raw.to_le_bytes();
            b[..6]
                .iter()
                .map(|x| format!("{x:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        }
        // Names are the session's: see `Resolve::probe_name`.
        Render::Probe => format!("probe#{raw}"),
        // Filters are the program's: see `Resolve::cgroup_path`.
        Render::CgroupPath { .. } => crate::cgroup::paths(raw, None),
    }
}

/// An `ntop()` value: IPv6 (family 10, AF_INET6) as `std::net` writes it (`::1`,
/// `fe80::1`), else the first 4 bytes as IPv4.
pub fn inet(family: u64, addr: &[u8]) -> String {
    let mut b = [0u8; 16];
    let n = addr.len().min(16);
    b[..n].copy_from_slice(&addr[..n]);
    if family == 10 {
        std::net::Ipv6Addr::from(b).to_string()
    } else {
        std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()
    }
}

/// strerror(3) of `errno`, as bpftrace's `strerror()` (negative values as their magnitude is
/// not what bpftrace does: it prints "Unknown error -N", and so do we, through libc).
fn errno_text(errno: i64) -> String {
    let Ok(errno) = i32::try_from(errno) else {
        return format!("Unknown error {errno}");
    };
    std::io::Error::from_raw_os_error(errno)
        .to_string()
        .split(" (os error")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The name of `uid` from /etc/passwd (read once), or the number as text.
fn username(uid: u32) -> String {
    static NAMES: OnceLock<Mutex<HashMap<u32, String>>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        Mutex::new(passwd_names(&text))
    });
    let names = names.lock().unwrap_or_else(|e| e.into_inner());
    names.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
}

fn passwd_names(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split(':');
            let name = parts.next()?;
            let uid = parts.nth(1)?.parse().ok()?;
            Some((uid, name.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_as_bpftrace() {
        assert_eq!(render(Render::Errno, 2), "No such file or directory");
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(inet(10, &v6), "::1");
        assert_eq!(inet(2, &[127, 0, 0, 1]), "127.0.0.1");
        assert_eq!(render(Render::Mac, 0x5d4c3a211b00), "00:1B:21:3A:4C:5D");
        let names = passwd_names("root:x:0:0:root:/root:/bin/bash\nbad line\nbin:x:2:2::/:/x\n");
        assert_eq!(names.get(&0).map(String::as_str), Some("root"));
        assert_eq!(names.get(&2).map(String::as_str), Some("bin"));
    }
}
