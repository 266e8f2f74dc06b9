//! Late attach for uprobes on binary patterns (`uprobe:*:main.work`): when a program starts
//! whose executable is new to the session and matches a pattern, the CLI compiles the source
//! again for that binary (its own argument locations and offsets), and the pattern's programs
//! for it are loaded with the session's maps and attached.
//!
//! Each program gets one uprobe-multi link on the binary with no pid filter: the kernel's
//! uprobe sits on the file's inode, so every process of that binary fires it, including those
//! started later, and the binary is never compiled twice.
//!
//! The recompile must yield exactly the session's maps and events (the compiler lowers a
//! pattern's pending form first and shares identical events for that); a binary whose probes
//! would need others (e.g. `args` of another type) is skipped with a warning.

use crate::kernel::{Loaded, multi_offsets};
use crate::uprobe_multi;
use gprobe_compiler::manifest::{Attach, Manifest};
use gprobe_compiler::names::path_glob_match;
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Instant;

/// An executable a process started with, that matches one of the session's binary patterns.
#[derive(Clone, Debug)]
pub struct NewExecutable {
    /// Where to open and attach it: its own path, or `/proc/PID/exe` when that path names
    /// another file from here (a process in another mount namespace).
    pub path: PathBuf,
    /// Its path as its process sees it (`readlink /proc/PID/exe`), for matching and messages.
    pub shown: PathBuf,
    pub pid: u32,
}

/// The CLI's compiler, for one executable started after the session attached: the program's
/// object and manifest with its binary patterns expanded to that binary (`Ok(None)`: it is not
/// a Go binary with the pattern's function). `Err` is a message for the user.
pub type Recompile = Box<dyn FnMut(&NewExecutable) -> Result<Option<(Vec<u8>, Manifest)>, String>>;

/// The session's binary patterns and what it already did about each executable.
#[derive(Default)]
pub(crate) struct Dynamic {
    /// The absolute binary patterns of the manifest's pending programs.
    patterns: Vec<String>,
    /// Executables (device, inode) already decided: attached at startup or later, or not Go.
    seen: HashSet<(u64, u64)>,
    recompile: Option<Recompile>,
    /// `--exe`: executables matching none of these are not traced, so never compiled for.
    exe_globs: Vec<String>,
    verbose: bool,
    /// Programs attached so far, for unique names in [`Loaded`].
    attached: usize,
}

impl Dynamic {
    pub fn new(manifest: &Manifest, verbose: bool) -> Dynamic {
        let mut patterns: Vec<String> = manifest
            .programs
            .iter()
            .filter_map(|p| p.pattern.as_ref().filter(|o| o.pending))
            .map(|o| o.binary.clone())
            .collect();
        patterns.sort();
        patterns.dedup();
        // The binaries the startup compile attached to already have every pattern program.
        let seen = manifest
            .programs
            .iter()
            .filter(|p| p.pattern.as_ref().is_some_and(|o| !o.pending))
            .filter_map(|p| match &p.attach {
                Attach::Uprobe { binary, .. } => std::fs::metadata(binary).ok(),
                _ => None,
            })
            .map(|m| (m.dev(), m.ino()))
            .collect();
        Dynamic {
            patterns,
            seen,
            recompile: None,
            exe_globs: Vec::new(),
            verbose,
            attached: 0,
        }
    }

    pub fn set_recompile(&mut self, recompile: Recompile) {
        self.recompile = Some(recompile);
    }

    pub fn set_exe_globs(&mut self, globs: Vec<String>) {
        self.exe_globs = globs;
    }

    /// Process `pid` exec'd at kernel time `exec_ns` (CLOCK_MONOTONIC): attach the pattern
    /// programs to its executable if that is new and matches. Problems are warnings: the
    /// session goes on tracing what it has.
    pub fn process_exec(
        &mut self,
        pid: u32,
        exec_ns: u64,
        session: &Manifest,
        loaded: &mut Loaded,
        resolver: &mut crate::resolver::Resolver,
    ) {
        if self.patterns.is_empty() {
            return;
        }
        let Some(recompile) = self.recompile.as_mut() else {
            return;
        };
        let exe = PathBuf::from(format!("/proc/{pid}/exe"));
        // Gone already, or a kernel thread: nothing to attach to (a later exec retries).
        let Ok(meta) = std::fs::metadata(&exe) else {
            return;
        };
        let key = (meta.dev(), meta.ino());
        if self.seen.contains(&key) {
            return;
        }
        let Ok(shown) = std::fs::read_link(&exe) else {
            return;
        };
        self.seen.insert(key);
        let shown_text = shown.to_string_lossy();
        let selected = self.exe_globs.is_empty()
            || self
                .exe_globs
                .iter()
                .any(|g| crate::procs::selector::path_glob(g, &shown_text));
        if !selected
            || !self
                .patterns
                .iter()
                .any(|p| path_glob_match(p, &shown_text))
        {
            return;
        }
        let same = std::fs::metadata(&shown).is_ok_and(|m| (m.dev(), m.ino()) == key);
        let new = NewExecutable {
            path: if same { shown.clone() } else { exe },
            shown: shown.clone(),
            pid,
        };
        let compile_start = Instant::now();
        let (object, manifest) = match recompile(&new) {
            Ok(Some(compiled)) => compiled,
            Ok(None) => return,
            Err(why) => {
                eprintln!("gprobe: warning: not tracing {shown_text} (pid {pid}): {why}");
                return;
            }
        };
        let compile_ms = compile_start.elapsed().as_secs_f64() * 1e3;
        if manifest.maps != session.maps || manifest.events != session.events {
            eprintln!(
                "gprobe: warning: not tracing {shown_text} (pid {pid}): its probes need other maps or events than the running session's (e.g. `args` of other types); trace it on its own with -p {pid}"
            );
            return;
        }
        // `probe` of this binary's functions (a pattern matched other ones at the start).
        resolver.learn_probe_names(&manifest);
        let binary = new.path.to_string_lossy();
        let specs: Vec<_> = manifest
            .programs
            .iter()
            .filter(|p| {
                p.pattern.as_ref().is_some_and(|o| !o.pending)
                    && matches!(&p.attach, Attach::Uprobe { binary: b, .. } if *b == binary)
            })
            .collect();
        // The compiler left this binary out (it warned why).
        if specs.is_empty() {
            return;
        }
        let mut names = Vec::new();
        for spec in specs {
            let Some(offsets) = multi_offsets(spec) else {
                continue;
            };
            let attached =
                uprobe_multi::load(&object, &spec.name, loaded.map_refs()).and_then(|prog| {
                    let cookies = crate::kernel::multi_cookies(spec);
                    let link = uprobe_multi::attach(
                        &prog,
                        &new.path,
                        offsets,
                        None,
                        cookies.as_deref(),
                        None,
                    )
                    .map_err(|e| e.to_string())?;
                    Ok((prog, link))
                });
            match attached {
                Ok((prog, link)) => {
                    // Names in the recompiled object may repeat the base object's.
                    self.attached += 1;
                    loaded.adopt(format!("dyn{}:{}", self.attached, spec.name), prog, link);
                    names.push(spec.probe_name.as_str());
                }
                Err(why) => eprintln!(
                    "gprobe: warning: cannot attach {} to {shown_text} (pid {pid}): {why}",
                    spec.probe_name
                ),
            }
        }
        if names.is_empty() {
            // Nothing attached (the process may have gone with its /proc/PID/exe): the next
            // process of this binary tries again.
            self.seen.remove(&key);
            return;
        }
        if !self.verbose {
            return;
        }
        names.dedup();
        let now = crate::session::monotonic_ns();
        let after_exec = if exec_ns == 0 {
            String::new()
        } else {
            format!(
                " {:.1} ms after exec",
                now.saturating_sub(exec_ns) as f64 / 1e6
            )
        };
        eprintln!(
            "gprobe: attached {} to {shown_text} (pid {pid}){after_exec} (compiled in {compile_ms:.1} ms)",
            names.join(", ")
        );
    }
}
