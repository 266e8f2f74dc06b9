//! Preprocessor macros describing the `-p`/`-c` target's Go binary, so one recipe adapts to
//! what is linked: `__GO_VERSION__` (major * 100 + minor: 123 for Go 1.23), `__GO_DWARF__`
//! when the binary has DWARF (struct layouts of libraries come only from there), `__GO_PIE__`
//! when it is position-independent (`-buildmode=pie`: `uaddr` is refused in its Go probes), and
//! `__GO_PKG_<path>__` for every package with a function in the pclntab, the import path with
//! each character other than a letter or digit as `_` (`__GO_PKG_github_com_gin_gonic_gin__`).
//! The pclntab names functions in stripped builds too, so the package macros are always there.
//! A package linked is not each of its functions linked (the linker drops what nothing calls:
//! gin links x/net's h2c but not x/net's HTTP/2 server), so every function of a package outside
//! the standard library also has `__GO_FUNC_<name>__`, mangled the same way
//! (`__GO_FUNC_golang_org_x_net_http2___serverConn__runHandler__`); the standard library's are
//! told by `__GO_VERSION__`. `__GO_TABLE_<library>__` (`__GO_TABLE_chi__`) says gprobe's
//! tables hold the layouts of a library the binary links, in its version (from the module
//! list), so a recipe may read it without DWARF.

use std::collections::BTreeSet;
use std::path::PathBuf;

use gprobe_compiler::gobin::{GoBinary, libraries};

/// The macros for the target (none when there is no single target or it is not Go).
pub fn for_target(pid: Option<u32>, command: Option<&str>) -> Vec<(String, String)> {
    let path = match (pid, command) {
        (Some(pid), _) => Some(PathBuf::from(format!("/proc/{pid}/exe"))),
        (None, Some(cmd)) => cmd
            .split_whitespace()
            .next()
            .and_then(crate::env::find_program),
        (None, None) => None,
    };
    let Some(bin) = path.and_then(|p| GoBinary::open(p).ok()) else {
        return Vec::new();
    };
    let (major, minor) = bin.go_release();
    let mut defines = vec![(
        "__GO_VERSION__".to_string(),
        (major * 100 + minor).to_string(),
    )];
    if bin.has_dwarf() {
        defines.push(("__GO_DWARF__".to_string(), "1".to_string()));
    }
    if bin.is_pie() {
        defines.push(("__GO_PIE__".to_string(), "1".to_string()));
    }
    let packages: BTreeSet<&str> = bin
        .functions()
        .iter()
        .filter_map(|f| package_of(&f.name))
        .collect();
    defines.extend(
        packages
            .into_iter()
            .map(|p| (format!("__GO_PKG_{}__", mangle(p)), "1".to_string())),
    );
    // A library's: its import path's first element has a dot (`golang.org/x/net`).
    let library = |name: &str| {
        name.split('/')
            .next()
            .is_some_and(|first| first.contains('.'))
    };
    defines.extend(
        bin.functions()
            .iter()
            .filter(|f| library(&f.name))
            .map(|f| (format!("__GO_FUNC_{}__", mangle(&f.name)), "1".to_string())),
    );
    defines.extend(
        libraries::LIBRARIES
            .iter()
            .filter(|lib| libraries::covers(&bin, lib))
            .map(|lib| (format!("__GO_TABLE_{}__", lib.name), "1".to_string())),
    );
    defines
}

/// `github.com/gin-gonic/gin.(*Context).Next` → `github.com/gin-gonic/gin`: up to the first dot
/// after the last slash (a package path's last element has no dot; a function name follows it).
fn package_of(function: &str) -> Option<&str> {
    // Generic instantiations carry `[...]` with slashes inside; the package ends before them.
    let head = function.split('[').next().unwrap_or(function);
    let last_slash = head.rfind('/').map_or(0, |i| i + 1);
    let dot = head[last_slash..].find('.')? + last_slash;
    (dot > 0).then(|| &function[..dot])
}

fn mangle(package: &str) -> String {
    package
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_of_function_names() {
        assert_eq!(
            package_of("github.com/gin-gonic/gin.(*Context).Next"),
            Some("github.com/gin-gonic/gin")
        );
        assert_eq!(
            package_of("net/http.(*response).finishRequest"),
            Some("net/http")
        );
        assert_eq!(package_of("main.main"), Some("main"));
        assert_eq!(
            package_of("github.com/go-chi/chi/v5.(*node).FindRoute"),
            Some("github.com/go-chi/chi/v5")
        );
        assert_eq!(
            package_of("sync/atomic.(*Pointer[go.shape.struct { a/b.x int }]).Load"),
            Some("sync/atomic")
        );
        assert_eq!(
            mangle("github.com/go-chi/chi/v5"),
            "github_com_go_chi_chi_v5"
        );
    }
}
