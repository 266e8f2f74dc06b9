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

/// The binary exists, is an ELF file and is built for this machine's architecture.
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
    if n < 20 || &header[..4] != b"\x7fELF" {
        return Err(RuntimeError::NotElf {
            path: path.into(),
            span,
        });
    }
    // e_machine sits at byte 18 in both ELF classes; assume little-endian (byte 5 == 1).
    let machine = if header[5] == 2 {
        u16::from_be_bytes([header[18], header[19]])
    } else {
        u16::from_le_bytes([header[18], header[19]])
    };
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
}
