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
