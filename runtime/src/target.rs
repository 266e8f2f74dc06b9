//! What a uprobe's binary is, checked before attaching so that a wrong file gets a precise
//! error instead of a symbol lookup failure: missing, not ELF, built for another architecture,
//! or (for Go-looking symbols) not a Go binary.

use crate::error::RuntimeError;
use gprobe_compiler::span::Span;
use std::io::Read;
use std::path::Path;

/// ELF `e_machine` of the machine gprobe runs on.
const HOST_MACHINE: u16 = if cfg!(target_arch = "aarch64") {
    183
} else {
    62
};

fn machine_name(machine: u16) -> String {
    match machine {
        3 => "x86 (32-bit)".into(),
        40 => "arm (32-bit)".into(),
        62 => "x86_64".into(),
        183 => "arm64".into(),
        243 => "riscv".into(),
        other => format!("machine type {other}"),
    }
}

/// Why uprobes cannot go into `path` at all, as the message a real run would give (missing, not
/// an ELF executable or shared library, another architecture), or `None` when they can. The
/// checker asks this so that `--check` fails where loading would.
pub fn uprobe_binary_problem(path: &Path) -> Option<String> {
    let span = Span { start: 0, end: 0 };
    check_binary(path, span).err().map(|e| e.to_string())
}

/// The binary exists, is an ELF executable or shared library and is built for this machine's
/// architecture.
pub(crate) fn check_binary(path: &Path, span: Span) -> Result<(), RuntimeError> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RuntimeError::BinaryNotFound {
                path: path.into(),
                span,
            });
        }
        Err(e) => return Err(RuntimeError::io(format!("opening {}", path.display()), e)),
    };
    let mut header = [0u8; 20];
    let n = file.read(&mut header).unwrap_or(0);
    let big_endian = header[5] == 2;
    let half = |at: usize| {
        let bytes = [header[at], header[at + 1]];
        if big_endian {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        }
    };
    // e_type: only ET_EXEC (2) and ET_DYN (3) are ever mapped executable; a relocatable object
    // or a core dump would take the probe and never fire.
    if n < 20 || &header[..4] != b"\x7fELF" || !matches!(half(16), 2 | 3) {
        return Err(RuntimeError::NotElf {
            path: path.into(),
            span,
        });
    }
    // e_machine sits at byte 18 in both ELF classes.
    let machine = half(18);
    if machine != HOST_MACHINE {
        return Err(RuntimeError::WrongArch {
            path: path.into(),
            arch: machine_name(machine),
            host: machine_name(HOST_MACHINE),
            span,
        });
    }
    Ok(())
}

/// Whether `path` is a Go binary (has a Go function table or build info).
pub(crate) fn is_go(path: &Path) -> bool {
    use object::{Object, ObjectSection};
    let Ok(data) = std::fs::read(path) else {
        return false;
    };
    let Ok(file) = object::File::parse(&*data) else {
        return false;
    };
    file.sections().any(|s| {
        matches!(
            s.name(),
            Ok(".gopclntab" | ".go.buildinfo" | ".data.rel.ro.gopclntab")
        )
    })
}

/// A symbol a Go user would write: `pkg.Func`, `pkg.(*T).Method`, `main.work`.
pub(crate) fn looks_like_go(symbol: &str) -> bool {
    symbol.contains('.') && !symbol.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_files() {
        let span = Span { start: 0, end: 1 };
        assert!(matches!(
            check_binary(Path::new("/nonexistent/x"), span),
            Err(RuntimeError::BinaryNotFound { .. })
        ));
        assert!(matches!(
            check_binary(Path::new("/etc/passwd"), span),
            Err(RuntimeError::NotElf { .. })
        ));
        let me = std::env::current_exe().unwrap();
        assert!(check_binary(&me, span).is_ok());
        assert!(!is_go(&me));
        assert!(looks_like_go("main.work") && !looks_like_go("malloc"));
    }

    /// An x86-64 ELF header of a relocatable object (`e_type` 1), as `cc -c` writes.
    #[test]
    fn refuses_an_object_file() {
        let mut header = vec![0u8; 64];
        header[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        header[16] = 1;
        header[18] = 62;
        let path = std::env::temp_dir().join(format!("gprobe-object-{}.o", std::process::id()));
        std::fs::write(&path, &header).unwrap();
        let problem = uprobe_binary_problem(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            problem,
            Some(format!("{} is not an ELF executable", path.display()))
        );
        assert_eq!(
            uprobe_binary_problem(Path::new("/nonexistent/x")).as_deref(),
            Some("binary not found: /nonexistent/x")
        );
    }
}
