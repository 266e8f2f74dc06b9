//! The `usdt:` provider: its probes' sites come from the binary's `.note.stapsdt` (through
//! [`Env::usdt_probes`]), and `argN` is typed by each site's argument spec.

use super::Env;
use super::providers::Provider;
use crate::builtins::ProviderKind;
use crate::diag::{Diagnostic, codes};
use crate::span::Span;
use crate::types::{IntType, Type};
use crate::usdt::{UsdtFile, UsdtLoc, UsdtProbe};

/// The files a `usdt:` attach point's probes may be in: its binary, or without one the
/// target's executable and then the shared libraries a `-p` process has mapped.
pub(super) fn files(env: &dyn Env, binary: Option<&str>) -> Result<Vec<UsdtFile>, String> {
    let mut files = vec![env.usdt_probes(binary)?];
    if binary.is_none() {
        files.extend(env.usdt_libraries());
    }
    Ok(files)
}

/// `files` with only the probes `provider:name` matches (files without one left out), or why
/// none does anywhere, with the nearest names.
pub(super) fn select(
    files: &[UsdtFile],
    provider: Option<&str>,
    name: &str,
) -> Result<Vec<UsdtFile>, String> {
    let found: Vec<UsdtFile> = files
        .iter()
        .filter_map(|f| {
            let probes = crate::usdt::select(&f.probes, provider, name, &f.path).ok()?;
            Some(UsdtFile {
                path: f.path.clone(),
                probes,
            })
        })
        .collect();
    if !found.is_empty() {
        return Ok(found);
    }
    let all: Vec<UsdtProbe> = files.iter().flat_map(|f| f.probes.clone()).collect();
    let first = files.first().map_or("the target", |f| f.path.as_str());
    let why = match crate::usdt::select(&all, provider, name, first) {
        Err(why) => why,
        Ok(_) => format!("no USDT probe matches in {first}"),
    };
    Err(match files.len() {
        0 | 1 => why,
        n => format!(
            "{why} (searched with the {} shared librar{} the process has loaded)",
            n - 1,
            if n == 2 { "y" } else { "ies" }
        ),
    })
}

pub(super) struct Usdt {
    pub binary: Option<String>,
    pub provider: Option<String>,
    pub name: String,
    pub span: Span,
}

impl Usdt {
    /// The matching sites, or `None` when they cannot be read (reported once, by the
    /// checker's binary check).
    fn sites(&self, env: &dyn Env) -> Option<Vec<UsdtProbe>> {
        let file = env.usdt_probes(self.binary.as_deref()).ok()?;
        crate::usdt::select(
            &file.probes,
            self.provider.as_deref(),
            &self.name,
            &file.path,
        )
        .ok()
    }
}

impl Provider for Usdt {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Usdt
    }

    fn span(&self) -> Span {
        self.span
    }

    fn arg(&self, env: &dyn Env, n: u8, at: Span) -> Result<Type, Diagnostic> {
        let Some(sites) = self.sites(env) else {
            return Ok(Type::Int(IntType::U64));
        };
        let mut signed = true;
        for site in &sites {
            let Some(arg) = site.args.get(usize::from(n)) else {
                let count = site.args.len();
                return Err(Diagnostic::error(
                    codes::USDT_ARG,
                    format!(
                        "USDT probe `{}` has {count} argument{}, so no `arg{n}`",
                        site.full_name(),
                        if count == 1 { "" } else { "s" }
                    ),
                )
                .primary(at, "no such argument")
                .secondary(self.span, "this probe")
                .note(match count {
                    0 => "it takes no arguments".to_string(),
                    1 => "its only argument is `arg0`".to_string(),
                    _ => format!("its arguments are `arg0` to `arg{}`", count - 1),
                }));
            };
            if let UsdtLoc::Unsupported(why) = &arg.loc {
                return Err(Diagnostic::error(
                    codes::USDT_ARG,
                    format!(
                        "`arg{n}` of USDT probe `{}` cannot be read: {why}",
                        site.full_name()
                    ),
                )
                .primary(at, "not readable")
                .secondary(self.span, "this probe")
                .note(format!("its spec is `{}`", arg.spec)));
            }
            signed &= arg.signed;
        }
        Ok(Type::Int(if signed { IntType::I64 } else { IntType::U64 }))
    }
}
