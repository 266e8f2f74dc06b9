//! Matching names the user wrote against names that exist: shell-style globs for attach points
//! and listings, and edit distance for "did you mean" hints. One copy for the whole tool.

/// `*` matches any run of characters, `?` any one character; everything else is literal.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and how much of `name` it has swallowed so far.
    let mut backtrack: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ni));
            pi += 1;
        } else if let Some((bp, bn)) = backtrack {
            pi = bp + 1;
            ni = bn + 1;
            backtrack = Some((bp, bn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether a uprobe's binary is a pattern (`*`, `/srv/*/bin/*`) rather than one file.
pub fn is_binary_pattern(binary: &str) -> bool {
    binary.contains(['*', '?', '['])
}

/// Whether executable `path` matches binary pattern `pattern`: `*` alone matches every path;
/// otherwise, as in the shell, `*` and `?` match within one path component (never `/`) and
/// `[abc]`, `[a-z]`, `[!a]` match one character of a set. A relative pattern matches the end of
/// the path at a component boundary (`bin/*` matches `/srv/a/bin/x`), since a process's
/// executable is known by its absolute path.
pub fn path_glob_match(pattern: &str, path: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let n: Vec<char> = path.chars().collect();
    if pattern.starts_with('/') {
        return match_from(&pattern.chars().collect::<Vec<_>>(), &n);
    }
    let p: Vec<char> = pattern
        .strip_prefix("./")
        .unwrap_or(pattern)
        .chars()
        .collect();
    // Every suffix of `path` that starts a component.
    (0..n.len()).any(|i| (i == 0 || n[i - 1] == '/') && match_from(&p, &n[i..]))
}

/// Shell-style matching of a whole path (see [`path_glob_match`]), by recursion on the
/// pattern: patterns are short and have few `*`.
fn match_from(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len())
            .take_while(|&i| i == 0 || n[i - 1] != '/')
            .any(|i| match_from(&p[1..], &n[i..])),
        Some('?') => n.first().is_some_and(|&c| c != '/') && match_from(&p[1..], &n[1..]),
        Some('[') => match (class(p), n.first()) {
            (Some((matches, len)), Some(&c)) => {
                c != '/' && matches(c) && match_from(&p[len..], &n[1..])
            }
            (None, Some(&c)) => c == '[' && match_from(&p[1..], &n[1..]),
            (_, None) => false,
        },
        Some(&c) => n.first() == Some(&c) && match_from(&p[1..], &n[1..]),
    }
}

/// The set `[...]` at the start of `p` as a predicate, and its length in the pattern; `None`
/// when it is not closed (then `[` is literal).
fn class(p: &[char]) -> Option<(impl Fn(char) -> bool, usize)> {
    let mut i = 1;
    let negated = matches!(p.get(1), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let start = i;
    // A `]` right after `[` (or `[!`) is part of the set.
    while i < p.len() && (p[i] != ']' || i == start) {
        i += 1;
    }
    if i >= p.len() {
        return None;
    }
    let items: Vec<char> = p[start..i].to_vec();
    let matches = move |c: char| {
        let mut j = 0;
        let mut found = false;
        while j < items.len() {
            if j + 2 < items.len() && items[j + 1] == '-' {
                found |= (items[j]..=items[j + 2]).contains(&c);
                j += 3;
            } else {
                found |= items[j] == c;
                j += 1;
            }
        }
        found != negated
    };
    Some((matches, i + 1))
}

/// Up to `limit` candidates closest to `wanted` by edit distance, nearest first, leaving out
/// those too far to be a plausible typo.
pub fn nearest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| *c != wanted)
        .map(|c| (strsim::damerau_levenshtein(wanted, c), c))
        .filter(|(d, c)| *d <= wanted.chars().count().max(c.chars().count()) / 2 + 1)
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(limit).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("net/http.*", "net/http.(*conn).serve"));
        assert!(glob_match("main.*", "main.main"));
        assert!(!glob_match("main.*", "runtime.main"));
        assert!(glob_match("*ServeHTTP", "net/http.serverHandler.ServeHTTP"));
        assert!(glob_match("main.wor?", "main.work"));
        assert!(!glob_match("main.work", "main.worker"));
        assert!(glob_match("*", ""));
        assert!(glob_match("s?s_*_x", "sys_enter_x"));
        assert!(!glob_match("sys_exit*", "sys_enter_openat"));
    }

    #[test]
    fn path_globs() {
        assert!(path_glob_match("*", "/usr/bin/anything"));
        assert!(path_glob_match("/srv/*/bin/*", "/srv/a/bin/x"));
        assert!(!path_glob_match("/srv/*/bin/*", "/srv/a/b/bin/x"));
        assert!(!path_glob_match("/srv/*/bin/*", "/srv/a/bin/x/y"));
        assert!(path_glob_match("/tmp/work-1.?9", "/tmp/work-1.19"));
        assert!(path_glob_match("/tmp/w[a-z]rk", "/tmp/work"));
        assert!(!path_glob_match("/tmp/w[!o]rk", "/tmp/work"));
        assert!(path_glob_match("bin/work*", "/x/bin/work-pie"));
        assert!(!path_glob_match("in/work*", "/x/bin/work-pie"));
        assert!(path_glob_match("/a[b", "/a[b"));
        assert!(is_binary_pattern("/srv/*/x") && !is_binary_pattern("./srv"));
    }

    #[test]
    fn nearest_names() {
        let names = [
            "sys_enter_openat",
            "sys_enter_open",
            "sys_exit_openat",
            "sched_switch",
        ];
        assert_eq!(
            nearest("sys_enter_opnat", names, 3),
            vec!["sys_enter_openat", "sys_enter_open", "sys_exit_openat"]
        );
        assert!(nearest("zzzzzzzzzzzzz", names, 3).is_empty());
    }
}
