//! One refusal when none of a program's uprobes is in the target because the package they
//! trace is not linked into it (`--recipe http-latency` on a program without `net/http`): the
//! diagnostics the checker would give next (each probe not found, `args` untyped, maps never
//! assigned) all stem from that one fact, so they are not shown.
//!
//! A recipe (or script) may say what it needs in its header, `// @requires net/http HTTP
//! server`, for the wording "no HTTP server in this binary: net/http is not linked".

use super::{Env, Options, UprobeNeeds};
use crate::ast::{Probe, ProbeKind};
use crate::diag::{Diagnostic, codes};
use crate::span::Span;

/// `// @requires PACKAGE WHAT`: the program traces `PACKAGE`, which provides `WHAT`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirement {
    pub package: String,
    pub what: String,
}

impl Requirement {
    /// The `// @requires` lines of a program's leading comment block.
    pub fn from_header(source: &str) -> Vec<Requirement> {
        source
            .lines()
            .map(str::trim)
            .take_while(|l| l.starts_with("//") || l.is_empty())
            .filter_map(|l| l.trim_start_matches('/').trim().strip_prefix("@requires "))
            .filter_map(|rest| {
                let (package, what) = rest.trim().split_once(char::is_whitespace)?;
                Some(Requirement {
                    package: package.to_owned(),
                    what: what.trim().to_owned(),
                })
            })
            .collect()
    }
}

/// The Go package of a function name or of a glob's literal prefix: `net/http` for
/// `net/http.(*conn).serve` and `net/http*writeHeader`, `main` for `main.work`.
pub fn go_package(function: &str) -> Option<&str> {
    let literal = &function[..function.find(['*', '?']).unwrap_or(function.len())];
    match crate::gobin::packages::package_of(literal) {
        Some(package) => Some(package),
        // A glob cut inside the last path element (`net/http*writeHeader`): its prefix.
        None if literal.len() < function.len() => {
            let package = literal.trim_end_matches('/');
            (!package.is_empty()).then_some(package)
        }
        None => None,
    }
}

/// The one diagnostic when every uprobe of the program fails to resolve and none of the packages
/// they name is linked into its binary; `None` otherwise (the checker then says what is wrong),
/// and for a lone uprobe unless a `// @requires` names its package.
pub fn refusal(probes: &[Probe], env: &dyn Env, options: &Options) -> Option<Diagnostic> {
    let mut uprobes: Vec<(Option<&str>, &str, Span)> = Vec::new();
    for probe in probes {
        for attach in &probe.attach {
            let ProbeKind::Uprobe {
                ret,
                binary,
                function,
                glob,
                offset,
            } = &attach.kind
            else {
                continue;
            };
            let binary = binary.as_ref().map(|b| b.node.as_str());
            if offset.is_some()
                || (binary.is_none() && !options.has_target)
                || env.uprobe_binary(binary).is_err()
                || crate::native::parse_address(&function.node).is_some()
            {
                return None; // resolved otherwise, or reported as it is
            }
            let needs = UprobeNeeds {
                values: false,
                runtime: false,
            };
            if env
                .resolve_uprobe_for(binary, &function.node, *glob, *ret, needs)
                .is_ok()
            {
                return None;
            }
            uprobes.push((binary, &function.node, function.span));
        }
    }
    let (binary, _, first) = *uprobes.first()?;
    // One binary: with several, the ordinary diagnostics say which misses what.
    if uprobes.iter().any(|(b, _, _)| *b != binary) {
        return None;
    }
    let mut packages: Vec<&str> = Vec::new();
    for (_, function, _) in &uprobes {
        let package = go_package(function)?;
        if !packages.contains(&package) {
            packages.push(package);
        }
    }
    if packages
        .iter()
        .any(|p| env.go_package_linked(binary, p) != Some(false))
    {
        return None;
    }
    let what = options
        .requires
        .iter()
        .find(|r| packages.contains(&r.package.as_str()));
    // One uprobe alone has no cascade to spare; its own error names the nearest functions
    // (a typo in the package is likelier than a program that lacks it).
    if uprobes.len() == 1 && what.is_none() {
        return None;
    }
    let quoted: Vec<String> = packages.iter().map(|p| format!("`{p}`")).collect();
    let listed = match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.join(""),
    };
    let verb = if packages.len() == 1 { "is" } else { "are" };
    let target = binary.unwrap_or("this binary");
    let message = match what {
        Some(r) => format!("no {} in {target}: `{}` is not linked", r.what, r.package),
        None => format!("{listed} {verb} not linked into {target}"),
    };
    let mut d = Diagnostic::error(codes::NOT_LINKED, message).primary(
        first,
        match uprobes.len() {
            1 => "this function is not in the binary".to_string(),
            2 => "this function is not in the binary, nor is the other uprobe's".to_string(),
            n => format!(
                "this function is not in the binary, nor are those of the other {} uprobes",
                n - 1
            ),
        },
    );
    d = d.note(format!(
        "none of the program's uprobes can attach: they trace {listed}, which the program does not link; trace a program that uses it"
    ));
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_of_names_and_globs() {
        assert_eq!(go_package("net/http.(*conn).serve"), Some("net/http"));
        assert_eq!(go_package("main.work"), Some("main"));
        assert_eq!(
            go_package("google.golang.org/grpc.(*Server).handleStream"),
            Some("google.golang.org/grpc")
        );
        assert_eq!(go_package("net/http*writeHeader"), Some("net/http"));
        assert_eq!(go_package("net/http.*"), Some("net/http"));
        assert_eq!(go_package("*"), None);
        assert_eq!(go_package("visit"), None);
    }

    #[test]
    fn requires_header() {
        let src =
            "// x: y\n//\n// @requires net/http HTTP server\n\nuprobe:a { }\n// @requires no\n";
        assert_eq!(
            Requirement::from_header(src),
            [Requirement {
                package: "net/http".into(),
                what: "HTTP server".into()
            }]
        );
    }
}
