//! Uprobes on binary patterns: `uprobe:*:main.work` (every Go program with `main.work`) and
//! path globs (`uprobe:/srv/*/bin/*:main.handle`). Which files match is the caller's business
//! (the CLI looks at running processes and the disk; the runtime asks again for each program
//! started later); this module only rewrites the parsed program, before checking, so that each
//! binary is checked and lowered on its own terms (its own argument locations and offsets).
//!
//! A pattern attach point becomes its pending form ([`Expansion::Pending`]) followed by one
//! concrete attach point per binary ([`Expansion::Binary`]). The pending form is lowered first
//! and never attached: it makes every map and event the probe needs exist, in the same order,
//! whatever matched, so a recompile for a binary found later yields the session's layouts.

use crate::ast::{Expansion, ProbeKind, Program};
use crate::names::is_binary_pattern;
use crate::span::Spanned;

/// One pattern uprobe, as [`expand_patterns`] asks about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternQuery<'a> {
    /// As written (`*`, `/srv/*/bin/*`, `./bin/*`).
    pub binary: &'a str,
    /// The function, or a function glob when `glob`.
    pub function: &'a str,
    pub glob: bool,
    pub ret: bool,
}

/// What the caller answers for one pattern: the pattern made absolute (for matching later
/// executables by path) and the binaries to attach to now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatternMatch {
    pub pattern: String,
    pub binaries: Vec<String>,
}

/// Rewrites every uprobe whose binary is a pattern into its pending form followed by one attach
/// point per binary `matches` names for it. Returns how many pattern attach points there were.
pub fn expand_patterns(
    program: &mut Program,
    matches: &mut dyn FnMut(&PatternQuery) -> PatternMatch,
) -> usize {
    let mut patterns = 0;
    let mut probes = Vec::with_capacity(program.probes.len());
    for mut probe in std::mem::take(&mut program.probes) {
        // Binaries after the first get a copy of the probe each (see below), in order.
        let mut others: Vec<(String, Vec<crate::ast::AttachPoint>)> = Vec::new();
        let mut attach = Vec::with_capacity(probe.attach.len());
        for point in std::mem::take(&mut probe.attach) {
            let ProbeKind::Uprobe {
                ret,
                binary: Some(binary),
                function,
                glob,
                offset,
            } = &point.kind
            else {
                attach.push(point);
                continue;
            };
            if !is_binary_pattern(&binary.node) || point.expansion.is_some() {
                attach.push(point);
                continue;
            }
            patterns += 1;
            let found = matches(&PatternQuery {
                binary: &binary.node,
                function: &function.node,
                glob: *glob,
                ret: *ret,
            });
            let concrete: Vec<_> = found
                .binaries
                .iter()
                .map(|path| {
                    let mut one = point.clone();
                    one.kind = ProbeKind::Uprobe {
                        ret: *ret,
                        binary: Some(Spanned::new(path.clone(), binary.span)),
                        function: function.clone(),
                        glob: *glob,
                        offset: *offset,
                    };
                    one.expansion = Some(Expansion::Binary {
                        pattern: found.pattern.clone(),
                    });
                    one
                })
                .collect();
            let mut pending = point;
            pending.expansion = Some(Expansion::Pending {
                pattern: found.pattern,
                matched: concrete.len(),
            });
            attach.push(pending);
            // The first binary stays with the pending form, which is typed from it. Every
            // other binary gets its own copy of the probe: a body is typed once, and two Go
            // releases lay out the same struct differently (`response.status` moved in 1.27).
            let mut concrete = concrete.into_iter().zip(&found.binaries);
            if let Some((first, _)) = concrete.next() {
                attach.push(first);
            }
            for (one, path) in concrete {
                match others.iter_mut().find(|(p, _)| p == path) {
                    Some((_, points)) => points.push(one),
                    None => others.push((path.clone(), vec![one])),
                }
            }
        }
        probe.attach = attach;
        let copies: Vec<_> = others
            .into_iter()
            .map(|(_, points)| crate::ast::Probe {
                attach: points,
                ..probe.clone()
            })
            .collect();
        probes.push(probe);
        probes.extend(copies);
    }
    program.probes = probes;
    patterns
}

/// How `point` takes part in a pattern: what [`expand_patterns`] set, or, for a pattern uprobe
/// nobody expanded (a library caller that compiled the source directly), its pending form with
/// nothing matched.
pub fn expansion_of(point: &crate::ast::AttachPoint) -> Option<Expansion> {
    if let Some(e) = &point.expansion {
        return Some(e.clone());
    }
    match &point.kind {
        ProbeKind::Uprobe {
            binary: Some(binary),
            ..
        } if is_binary_pattern(&binary.node) => Some(Expansion::Pending {
            pattern: binary.node.clone(),
            matched: 0,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_form_and_first_binary_then_a_probe_per_other_binary() {
        let mut program =
            crate::parse("uprobe:*:main.work, uprobe:./x:main.run { @[pid] = count(); }").unwrap();
        let mut asked = Vec::new();
        let n = expand_patterns(&mut program, &mut |q| {
            asked.push(q.binary.to_owned());
            PatternMatch {
                pattern: q.binary.to_owned(),
                binaries: vec!["/a".into(), "/b".into()],
            }
        });
        assert_eq!((n, asked), (1, vec!["*".to_string()]));
        assert_eq!(program.probes.len(), 2);
        let attach = &program.probes[0].attach;
        assert_eq!(attach.len(), 3);
        assert!(
            attach[0]
                .expansion
                .as_ref()
                .is_some_and(Expansion::is_pending)
        );
        let binary = |p: usize, i: usize| match &program.probes[p].attach[i].kind {
            ProbeKind::Uprobe { binary, .. } => binary.as_ref().map(|b| b.node.clone()),
            _ => None,
        };
        assert_eq!(binary(0, 1).as_deref(), Some("/a"));
        assert!(attach[2].expansion.is_none());
        // `/b` is typed on its own: a copy of the probe with just its attach point.
        assert_eq!(program.probes[1].attach.len(), 1);
        assert_eq!(binary(1, 0).as_deref(), Some("/b"));
    }
}
