//! Which processes node-wide work is limited to: executable path globs (matched against the
//! path the process sees, `/srv/*/bin/*`), cgroup path substrings and process ids (`-p A,B`).
//! Empty lists match all.

/// A process is selected when its executable matches one of `exe_globs` (or there are none), its
/// cgroup path contains one of `cgroups` (or there are none), and its pid is one of `pids` (or
/// there are none).
#[derive(Clone, Debug, Default)]
pub struct Selector {
    pub exe_globs: Vec<String>,
    pub cgroups: Vec<String>,
    pub pids: Vec<u32>,
}

impl Selector {
    pub fn all() -> Selector {
        Selector::default()
    }

    /// Whether this selects every process (no filter needed in the programs).
    pub fn is_all(&self) -> bool {
        self.exe_globs.is_empty() && self.cgroups.is_empty() && self.pids.is_empty()
    }

    pub fn matches(&self, exe_path: &str, cgroup_path: &str) -> bool {
        (self.exe_globs.is_empty() || self.exe_globs.iter().any(|g| path_glob(g, exe_path)))
            && (self.cgroups.is_empty() || self.cgroups.iter().any(|c| cgroup_path.contains(c)))
    }

    pub fn matches_process(&self, pid: u32, exe_path: &str, cgroup_path: &str) -> bool {
        (self.pids.is_empty() || self.pids.contains(&pid)) && self.matches(exe_path, cgroup_path)
    }
}

/// Shell-style path glob: `*` and `?` stay within one path component, `**` spans any number
/// of components (so `/srv/*/bin/*` does not match `/srv/a/b/bin/x`, `/srv/**/x` does).
pub fn path_glob(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    let parts: Vec<&str> = path.split('/').collect();
    components(&pat, &parts)
}

fn components(pat: &[&str], parts: &[&str]) -> bool {
    match pat.split_first() {
        None => parts.is_empty(),
        Some((&"**", rest)) => (0..=parts.len()).any(|skip| components(rest, &parts[skip..])),
        Some((first, rest)) => parts.split_first().is_some_and(|(part, others)| {
            gprobe_compiler::gobin::glob_match(first, part) && components(rest, others)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_globs() {
        assert!(path_glob("/srv/*/bin/*", "/srv/shop/bin/shop"));
        assert!(!path_glob("/srv/*/bin/*", "/srv/shop/x/bin/shop"));
        assert!(!path_glob("/srv/*/bin/*", "/srv/shop/bin"));
        assert!(path_glob("/srv/**/shop", "/srv/a/b/shop"));
        assert!(path_glob("/srv/**/shop", "/srv/shop"));
        assert!(path_glob("*/shop-?", "x/shop-1"));
        assert!(!path_glob("/usr/bin/sleep", "/usr/bin/sleepy"));
        assert!(path_glob("**", "/anything/at/all"));
    }

    #[test]
    fn selector_combines_both() {
        let all = Selector::all();
        assert!(all.matches("/usr/bin/sleep", "/"));
        let s = Selector {
            exe_globs: vec!["/srv/*/bin/*".into(), "/opt/**".into()],
            cgroups: vec!["kubepods".into()],
            pids: Vec::new(),
        };
        assert!(s.matches("/srv/shop/bin/shop", "/kubepods.slice/x"));
        assert!(s.matches("/opt/a/b/c", "/kubepods/besteffort/pod1/abc"));
        assert!(!s.matches("/srv/shop/bin/shop", "/system.slice/docker-1.scope"));
        assert!(!s.matches("/usr/bin/shop", "/kubepods.slice/x"));
        let p = Selector {
            pids: vec![12, 34],
            ..Selector::all()
        };
        assert!(!p.is_all() && all.is_all());
        assert!(p.matches_process(34, "/x", "/"));
        assert!(!p.matches_process(35, "/x", "/"));
    }
}
