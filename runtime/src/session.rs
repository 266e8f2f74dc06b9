//! A tracing session: load → BEGIN → attach → event loop → END → print maps → detach.
//!
//! BEGIN and END programs are uprobes on two trigger functions in gprobe's own executable,
//! scoped to gprobe's pid; calling the function once runs the program once. BEGIN fires before
//! any other probe is attached, so nothing can run before it; its events wait in the ring
//! buffer until [`Session::run`] prints the banner and drains them.
//!
//! Cleanup is by ownership: links belong to programs, programs and maps to the session; every
//! exit path (return, error, panic unwinding) drops them, which detaches and unloads. A
//! SIGKILL closes the fds, which the kernel treats the same way.

use crate::decode::{self, RawEntry, Resolve};
use crate::dynamic::{Dynamic, Recompile};
use crate::error::RuntimeError;
use crate::kernel::{self, Loaded, OwnedMap, Trigger};
use crate::output::Sink;
use crate::procs::Selector;
use crate::resolver::{ExecImage, NodeWide, Resolver};
use crate::sys::RawMap;
use crate::value::{MapSnapshot, MapValue};
use crate::{printf, timefmt, tracefs};
use gprobe_compiler::manifest::{
    Attach, EventSpec, Manifest, MapKind, MapRole, MapSpec, ProgramSpec,
};
use gprobe_compiler::types::StackKind;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// What the CLI passes in.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-p PID`: uprobes fire only in this process.
    pub pid: Option<u32>,
    /// `-p A,B` (node-wide form, two or more pids): uprobes attach in each of these processes
    /// (each pid gets its own link on its executable), the programs' process filter holds
    /// them, and the session ends when all have exited.
    pub pids: Vec<u32>,
    /// Node-wide: which processes are traced (`--exe`, `--cgroup`; `pids` are added to it).
    /// The registry knows only those, and fills the programs' process set with them; the
    /// programs must then have been compiled with `LowerOptions::filter_processes`, else
    /// nothing in the kernel holds them to it.
    pub selector: Selector,
    /// `-c CMD`: run this command (split on whitespace), trace it, stop when it exits.
    pub command: Option<String>,
    /// `-v`: keep full verifier logs and say more.
    pub verbose: bool,
}

/// How a session ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Ring-buffer records the programs could not submit (buffer full).
    pub lost_events: u64,
    /// Map updates dropped because a map was full.
    pub dropped_updates: u64,
    /// The `-c` command's exit code (or 128 + signal), when it finished during the session.
    pub command_status: Option<i32>,
    pub stop: StopReason,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StopReason {
    #[default]
    Exit,
    Signal,
    CommandExited,
    /// The `-p` process exited.
    TargetExited,
}

/// Set by the SIGINT/SIGTERM handler; polled by the event loop.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Set by the SIGUSR1 handler: print every map now, as bpftrace does, and go on tracing.
static PRINT_MAPS_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_print_signal(_: libc::c_int) {
    PRINT_MAPS_REQUESTED.store(true, Ordering::SeqCst);
}

/// A stop signal came during the current session (it stays set until the next one starts),
/// so output writers stop waiting for a stalled reader (see `output::fdout`).
pub(crate) fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

/// The event loop's poll interval while programs write events without a wakeup: at the
/// highest uprobe rates (~1M events/s of ~50 bytes) the 1 MiB ring buffer fills in ~20 ms.
const DATA_EVENT_POLL_MS: i32 = 5;

/// BEGIN's trigger: a real, never-inlined function whose entry gets a uprobe.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn gprobe_trigger_begin(token: u64) -> u64 {
    std::hint::black_box(token)
}

/// END's trigger.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn gprobe_trigger_end(token: u64) -> u64 {
    std::hint::black_box(token.wrapping_add(1))
}

/// The file and file offset where the code at `addr` in this process comes from, from
/// /proc/self/maps (no symbol lookup needed, so it is fast and works on stripped builds).
fn own_code_location(addr: u64) -> Result<Trigger, RuntimeError> {
    let maps = std::fs::read_to_string("/proc/self/maps")
        .map_err(|e| RuntimeError::io("reading /proc/self/maps", e))?;
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let (Some(range), Some(_perms), Some(offset), Some(_dev), Some(_inode), Some(path)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            continue;
        };
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end), Ok(offset)) = (
            u64::from_str_radix(start, 16),
            u64::from_str_radix(end, 16),
            u64::from_str_radix(offset, 16),
        ) else {
            continue;
        };
        if (start..end).contains(&addr) {
            return Ok(Trigger {
                exe: PathBuf::from(path),
                offset: addr - start + offset,
            });
        }
    }
    Err(RuntimeError::Load {
        reason: format!("cannot find gprobe's own code at {addr:#x} in /proc/self/maps"),
    })
}

/// A `-c` command, forked and waiting on a pipe until released, so probes are attached before
/// it runs its first instruction.
struct GatedChild {
    pid: libc::pid_t,
    /// Write end of the gate; writing a byte lets the child exec. `None` once released.
    gate: Option<libc::c_int>,
    status: Option<i32>,
    /// A pidfd that polls readable when the child exits, so the session notices at once
    /// instead of at its next timeout. `None` if the kernel has no pidfd_open.
    pidfd: Option<std::os::fd::OwnedFd>,
}

impl GatedChild {
    fn spawn(command: &str) -> Result<GatedChild, RuntimeError> {
        let err = |source: std::io::Error| RuntimeError::Command {
            command: command.into(),
            source,
        };
        let words: Vec<&str> = command.split_whitespace().collect();
        let Some(program) = words.first() else {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "empty command",
            )));
        };
        let path = resolve_program(program)
            .ok_or_else(|| err(std::io::Error::from(std::io::ErrorKind::NotFound)))?;
        let to_c = |s: &str| {
            CString::new(s)
                .map_err(|e| err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))
        };
        let c_path = to_c(&path.to_string_lossy())?;
        let c_args: Vec<CString> = words.iter().map(|w| to_c(w)).collect::<Result<_, _>>()?;
        let mut argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut fds = [0; 2];
        // SAFETY: fds is a valid 2-element array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(err(std::io::Error::last_os_error()));
        }
        // Rust ignores SIGPIPE and an ignored signal stays ignored across exec: the command
        // gets the default back, so `yes | head` in it ends as it would untraced.
        // SAFETY: a zeroed sigaction is SIG_DFL with an empty mask.
        let default_action: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: after fork the child only calls async-signal-safe functions (close, read,
        // sigaction, execv, _exit) on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            unsafe {
                libc::close(fds[0]);
                libc::close(fds[1]);
            }
            return Err(err(e));
        }
        if pid == 0 {
            unsafe {
                libc::close(fds[1]);
                let mut byte = 0u8;
                loop {
                    let n = libc::read(fds[0], (&mut byte as *mut u8).cast(), 1);
                    if n == 1 {
                        libc::sigaction(libc::SIGPIPE, &default_action, std::ptr::null_mut());
                        libc::execv(c_path.as_ptr(), argv.as_ptr());
                        libc::_exit(127);
                    }
                    // EOF: gprobe went away before attaching; do not run untraced.
                    if n == 0 || *libc::__errno_location() != libc::EINTR {
                        libc::_exit(127);
                    }
                }
            }
        }
        unsafe { libc::close(fds[0]) };
        // SAFETY: pidfd_open on our own child; a non-negative result is a new fd we own.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let pidfd = (pidfd >= 0).then(|| {
            use std::os::fd::FromRawFd;
            unsafe { std::os::fd::OwnedFd::from_raw_fd(pidfd as libc::c_int) }
        });
        Ok(GatedChild {
            pid,
            gate: Some(fds[1]),
            status: None,
            pidfd,
        })
    }

    fn release(&mut self) {
        if let Some(fd) = self.gate.take() {
            // SAFETY: fd is our pipe's write end, owned here.
            unsafe {
                libc::write(fd, b"g".as_ptr().cast(), 1);
                libc::close(fd);
            }
        }
    }

    /// The exit status if the child has finished (reaped once).
    fn poll_exit(&mut self) -> Option<i32> {
        if self.status.is_none() {
            let mut status = 0;
            // SAFETY: plain waitpid on our own child.
            if unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) } == self.pid {
                self.status = Some(if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    128 + libc::WTERMSIG(status)
                });
            }
        }
        self.status
    }
}

impl Drop for GatedChild {
    /// A child still gated never runs (closing the gate makes it exit); one still running when
    /// tracing ends is terminated, so a session never leaves its command behind.
    fn drop(&mut self) {
        if let Some(fd) = self.gate.take() {
            unsafe { libc::close(fd) };
        } else if self.poll_exit().is_none() {
            unsafe { libc::kill(self.pid, libc::SIGTERM) };
        }
        if self.status.is_none() {
            let mut status = 0;
            unsafe { libc::waitpid(self.pid, &mut status, 0) };
        }
    }
}

/// A pidfd for `pid` (any process, not only a child), if the kernel has pidfd_open.
fn pidfd_open(pid: u32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: a plain syscall; a non-negative result is a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as libc::c_int) })
}

fn resolve_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.exists().then_some(p);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}

/// Loads every program of `object` into the kernel (its verifier runs) and unloads them again,
/// attaching nothing: proves that what the compiler produced is accepted by this kernel.
pub fn verify(object: &[u8], manifest: &Manifest, verbose: bool) -> Result<(), RuntimeError> {
    kernel::load(object, manifest, verbose).map(drop)
}

/// A loaded, attached session. Drop order matters only in that the child goes last: fields
/// drop top to bottom, so probes are detached before the command is terminated.
pub struct Session {
    manifest: Manifest,
    /// Map index in the manifest → its kernel map.
    maps: Vec<(usize, OwnedMap)>,
    events: Option<OwnedMap>,
    loaded: Loaded,
    end_trigger: Option<Trigger>,
    /// END programs run directly (raw tracepoint, `Loaded::run_once`).
    direct_ends: Vec<ProgramSpec>,
    probes: usize,
    resolver: Resolver,
    child: Option<GatedChild>,
    /// Pidfds of the `-p` processes still running: each polls readable once its process
    /// exits and is then dropped; the last one's exit ends the session as the `-c` command's
    /// exit does. Empty without `-p` (or without pidfd_open).
    target_exit: Vec<std::os::fd::OwnedFd>,
    /// Whether `target_exit` started non-empty (so an empty one means all have exited).
    has_targets: bool,
    /// Uprobes on binary patterns: attaching to programs started later.
    dynamic: Dynamic,
    /// `watchpoint:FUNC+argN`: (program, address) pairs attached so far.
    armed_watchpoints: std::collections::HashSet<(String, u64)>,
    /// How long the event loop sleeps at most. Short when printf events exist: the programs
    /// write those without waking the reader (a wakeup per event is costly in the traced
    /// thread), so the reader polls for them.
    poll_ms: i32,
    /// `join()` lines being put together, by CPU (see [`EventSpec::JoinPart`]).
    joins: std::collections::HashMap<u32, String>,
}

fn decode_bytes(bytes: &[u8], offset: usize, len: usize) -> &[u8] {
    let start = offset.min(bytes.len());
    &bytes[start..(start + len).min(bytes.len())]
}

impl Session {
    /// A `watchpoint:FUNC+argN` program stops the target when FUNC is called, until the
    /// runtime continues it; a call whose event was never read (tracing ended first) would
    /// leave it stopped for good: continue the target (harmless when it runs).
    fn continue_watched(&self) {
        let arms = self
            .manifest
            .events
            .iter()
            .any(|e| matches!(e, EventSpec::WatchpointArm { resume: true, .. }));
        if let (true, Some(pid)) = (arms, self.resolver.target_pid) {
            // SAFETY: kill(2) with a pid and a signal number, no memory involved.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGCONT);
            }
        }
    }

    /// Loads `object`, fires BEGIN, attaches every other probe. On error, everything already
    /// attached is detached again (by drop) before returning.
    pub fn load(
        object: &[u8],
        manifest: &Manifest,
        options: &Options,
    ) -> Result<Session, RuntimeError> {
        if let Some(&pid) = options
            .pid
            .iter()
            .chain(&options.pids)
            .find(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        {
            return Err(RuntimeError::PidGone { pid });
        }
        if manifest
            .programs
            .iter()
            .any(|p| matches!(p.attach, Attach::Tracepoint { .. }))
        {
            tracefs::ensure_mounted()?;
        }
        let mut loaded = kernel::load(object, manifest, options.verbose)?;
        let mut maps = Vec::new();
        let mut events = None;
        for (i, spec) in manifest.maps.iter().enumerate() {
            let map = loaded.take_map(&spec.name, spec.kind)?;
            if spec.role == MapRole::Events && events.is_none() {
                events = Some(map);
            } else {
                maps.push((i, map));
            }
        }
        let mut session = Session {
            manifest: manifest.clone(),
            maps,
            events,
            loaded,
            end_trigger: None,
            direct_ends: Vec::new(),
            probes: 0,
            resolver: Resolver::new(
                clock_ns(libc::CLOCK_REALTIME) as i64 - clock_ns(libc::CLOCK_MONOTONIC) as i64,
                manifest,
            ),
            child: None,
            target_exit: options
                .pid
                .iter()
                .chain(&options.pids)
                .filter_map(|&pid| pidfd_open(pid))
                .collect(),
            has_targets: false,
            dynamic: Dynamic::new(manifest, options.verbose),
            armed_watchpoints: Default::default(),
            poll_ms: if manifest.events.iter().any(|e| {
                matches!(
                    e,
                    EventSpec::Printf { .. }
                        | EventSpec::Emit { .. }
                        | EventSpec::JoinPart { .. }
                        | EventSpec::PrintValue { .. }
                )
            }) {
                DATA_EVENT_POLL_MS
            } else {
                100
            },
            joins: Default::default(),
        };
        session.has_targets = !session.target_exit.is_empty();
        session
            .dynamic
            .set_exe_globs(options.selector.exe_globs.clone());
        session.write_config(
            gprobe_compiler::manifest::CONFIG_START_NS,
            clock_ns(libc::CLOCK_MONOTONIC),
        )?;
        session.resolver.stacks = session.stack_maps();
        session.resolver.user_binary = user_binary(manifest, options);
        // Only when some value depends on the process it came from (Go facts, user stacks or
        // addresses, patterns: the compiler then added the exec/exit watch), or the programs
        // are limited to some processes. A node-wide script of BEGIN, counts or kernel stacks
        // needs no registry, and no scan of /proc.
        let watches = manifest
            .events
            .iter()
            .any(|e| matches!(e, EventSpec::ProcessExec))
            || manifest.maps.iter().any(|m| m.role == MapRole::Processes);
        if manifest.node_wide && watches {
            let mut selector = options.selector.clone();
            selector.pids.extend(&options.pids);
            session.resolver.node = Some(NodeWide::new(
                selector,
                session.role_map(MapRole::GoProcesses),
                session.role_map(MapRole::GoBinaries),
                session.role_map(MapRole::Processes),
                options.verbose,
            ));
        }

        session.probes = distinct_probes(manifest.programs.iter());

        // BEGIN first, fired before anything else is attached.
        let begin = own_code_location(gprobe_trigger_begin as *const () as u64)?;
        let begins: Vec<_> = manifest
            .programs
            .iter()
            .filter(|p| p.attach == Attach::Begin)
            .collect();
        let mut triggered = false;
        for spec in &begins {
            session.loaded.attach(spec, None, Some(&begin))?;
            triggered |= !session.loaded.run_once(spec)?;
        }
        if triggered {
            gprobe_trigger_begin(1);
        }
        let end = own_code_location(gprobe_trigger_end as *const () as u64)?;
        for spec in manifest.programs.iter().filter(|p| p.attach == Attach::End) {
            session.loaded.attach(spec, None, Some(&end))?;
            if spec.section.starts_with("raw_tracepoint") {
                session.direct_ends.push(spec.clone());
            } else {
                session.end_trigger = Some(Trigger {
                    exe: end.exe.clone(),
                    offset: end.offset,
                });
            }
        }

        if let Some(command) = &options.command {
            let child = GatedChild::spawn(command)?;
            // The command's own file, not /proc/PID/exe: symbols are read lazily, often after
            // the command has exited (and before it execs, that link is gprobe itself).
            if session.resolver.user_binary.is_none() {
                session.resolver.user_binary = command
                    .split_whitespace()
                    .next()
                    .and_then(resolve_program)
                    .or_else(|| Some(PathBuf::from(format!("/proc/{}/exe", child.pid))));
            }
            session.child = Some(child);
        }
        let pid = options.pid.or(session.child.as_ref().map(|c| c.pid as u32));
        session.resolver.target_pid = pid;
        if let Some(pid) = pid {
            // Before anything in the target is attached: `tpid` is never 0 while tracing.
            session.write_config(gprobe_compiler::manifest::CONFIG_TARGET_PID, pid.into())?;
        }
        let mut missing: Vec<(&ProgramSpec, RuntimeError)> = Vec::new();
        for spec in manifest
            .programs
            .iter()
            .filter(|p| !matches!(p.attach, Attach::Begin | Attach::End) && !kernel::is_pending(p))
        {
            if options.pids.is_empty() || !matches!(spec.attach, Attach::Uprobe { .. }) {
                match session.loaded.attach(spec, pid, None) {
                    // As bpftrace: a probe at several functions attaches to those that exist
                    // (ssllatency.bt lists libcrypto functions a build may not have); only a
                    // probe none of whose functions exist fails.
                    Err(e @ RuntimeError::SymbolNotFound { .. })
                        if probe_siblings(&manifest.programs, spec) > 0 =>
                    {
                        missing.push((spec, e));
                    }
                    other => other?,
                }
                continue;
            }
            // `-p A,B`: one link per process, so that other processes of the binary never
            // trap into the probe.
            for pid in pids_running(spec, &options.pids) {
                match session.loaded.attach(spec, Some(pid), None) {
                    // One of several exiting meanwhile is no reason to stop tracing the rest
                    // (its exit counts towards the end of the session like any other).
                    Err(RuntimeError::PidGone { pid }) => {
                        eprintln!("gprobe: warning: process {pid} exited while attaching");
                    }
                    // A missing symbol is the binary's, so the same for every process.
                    Err(e @ RuntimeError::SymbolNotFound { .. })
                        if probe_siblings(&manifest.programs, spec) > 0 =>
                    {
                        missing.push((spec, e));
                        break;
                    }
                    other => other?,
                }
            }
        }
        let skipped: Vec<&str> = missing.iter().map(|(spec, _)| spec.name.as_str()).collect();
        for (spec, e) in missing {
            let probe = probe_of(&spec.name);
            let all_missing = manifest
                .programs
                .iter()
                .filter(|p| probe_of(&p.name) == probe && !kernel::is_pending(p))
                .all(|p| skipped.contains(&p.name.as_str()));
            if all_missing {
                return Err(e);
            }
            if let RuntimeError::SymbolNotFound { symbol, binary, .. } = &e {
                eprintln!(
                    "gprobe: warning: {}: no symbol `{symbol}` in {binary}, skipped (the probe's other attach points are attached)",
                    spec.probe_name
                );
            }
        }
        if !skipped.is_empty() {
            // The banner counts the probes attached, as bpftrace's does.
            session.probes = distinct_probes(
                manifest
                    .programs
                    .iter()
                    .filter(|p| !skipped.contains(&p.name.as_str())),
            );
        }
        // After the watch programs are attached, so no process starts unseen in between.
        if let Some(node) = &session.resolver.node {
            node.discover();
        }
        Ok(session)
    }

    /// How the session compiles the source again for a program started later whose
    /// executable matches a binary pattern (`uprobe:*:FUNC`); without it, patterns attach only
    /// to what the startup compile found.
    pub fn set_recompile(&mut self, recompile: Recompile) {
        self.dynamic.set_recompile(recompile);
    }

    /// How many distinct probes are attached (for the banner).
    pub fn probe_count(&self) -> usize {
        self.probes
    }

    /// The pid of the `-c` command, once started.
    pub fn command_pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.pid as u32)
    }

    /// Runs until `exit()`, SIGINT/SIGTERM, or the exit of the `-c` command or `-p` process;
    /// then END, the maps, and the lost-event report on stderr. Consumes the session: everything is detached on return.
    pub fn run(mut self, sink: &mut dyn Sink) -> Result<Summary, RuntimeError> {
        let _signals = SignalGuard::install();
        sink.attached(self.probes).map_err(RuntimeError::Output)?;
        if let Some(child) = &mut self.child {
            child.release();
            // A PIE command's load address appears in its maps at exec, before any of its code
            // runs; a short command may exit before the event loop looks, so look now: until
            // it is known, or the command has exec'd something else (a wrapper), or 2 s.
            let pid = child.pid;
            let own_exe = std::fs::read_link("/proc/self/exe").ok();
            let mut execd_polls = 0;
            for _ in 0..2000 {
                // Only once exec'd are the maps the target's: before, they are gprobe's own, and
                // a file gprobe has mapped (the target, read by the compiler) gives a wrong bias.
                // The kernel switches the exe before it maps the new image: give the mapping a
                // moment, but not long for a wrapper that execs something else.
                let execd = std::fs::read_link(format!("/proc/{pid}/exe")).ok() != own_exe;
                if execd {
                    execd_polls += 1;
                    if self.resolver.learn_load_bias() || execd_polls > 50 {
                        break;
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        let mut summary = Summary::default();
        let mut stop = self.drain(sink)?;
        while stop.is_none() {
            // Read, not cleared: output writers look at it until the session ends.
            if STOP_REQUESTED.load(Ordering::SeqCst) {
                stop = Some(StopReason::Signal);
                break;
            }
            if self.exit_record_lost() {
                // exit() ran but its record did not fit in the ring buffer.
                self.drain(sink)?;
                stop = Some(StopReason::Exit);
                break;
            }
            if let Some(status) = self.child.as_mut().and_then(GatedChild::poll_exit) {
                summary.command_status = Some(status);
                stop = Some(StopReason::CommandExited);
                // Events the command caused right before exiting are still in the buffer.
                self.drain(sink)?;
                break;
            }
            if self.targets_exited() {
                stop = Some(StopReason::TargetExited);
                self.drain(sink)?;
                break;
            }
            self.wait_for_events(self.poll_ms);
            if PRINT_MAPS_REQUESTED.swap(false, Ordering::SeqCst) {
                self.drain(sink)?;
                for map in &self.user_maps()? {
                    sink.print_map(map, 1).map_err(RuntimeError::Output)?;
                }
            }
            // While the target lives: where it loaded a PIE binary, for symbolizing later.
            self.resolver.learn_load_bias();
            stop = self.drain(sink)?;
            if sink.wants_maps() {
                let maps = self.user_maps()?;
                if let Some(table) = self.resolver.process_table() {
                    sink.processes(&table);
                }
                sink.maps(&maps).map_err(RuntimeError::Output)?;
            }
        }
        summary.stop = stop.unwrap_or_default();
        let end_programs: Vec<String> = self
            .manifest
            .programs
            .iter()
            .filter(|p| p.attach == Attach::End)
            .map(|p| p.name.clone())
            .collect();
        let keep: Vec<&str> = end_programs.iter().map(String::as_str).collect();
        self.loaded.detach_except(&keep);
        self.continue_watched();
        if sink.wants_profile() {
            // Stacks with addresses and lines, before END can clear or trim the maps.
            let stopped = std::time::Instant::now();
            self.resolver.pcs.set(true);
            let maps = self.user_maps();
            self.resolver.pcs.set(false);
            sink.profile(&maps?, stopped)
                .map_err(RuntimeError::Output)?;
        }

        let direct_ends = std::mem::take(&mut self.direct_ends);
        if self.end_trigger.is_some() {
            gprobe_trigger_end(1);
        }
        for spec in &direct_ends {
            self.loaded.run_once(spec)?;
        }
        if self.end_trigger.is_some() || !direct_ends.is_empty() {
            self.drain(sink)?;
        }
        let maps = self.user_maps()?;
        if let Some(table) = self.resolver.process_table() {
            sink.processes(&table);
        }
        sink.finish(&maps).map_err(RuntimeError::Output)?;
        (summary.lost_events, summary.dropped_updates) = self.counters();
        if summary.lost_events > 0 {
            sink.lost_events(summary.lost_events)
                .map_err(RuntimeError::Output)?;
            eprintln!(
                "WARNING: {} events lost (ring buffer full; enlarge it with --ring-pages)",
                summary.lost_events
            );
        }
        if summary.dropped_updates > 0 {
            eprintln!(
                "WARNING: {} map updates dropped (map full; raise the limit with --map-keys-max)",
                summary.dropped_updates
            );
        }
        for (name, limit) in self.full_maps() {
            eprintln!(
                "WARNING: {name} reached its limit of {limit} entries: new keys were dropped (raise the limit with --map-keys-max)"
            );
        }
        if let Some(child) = &mut self.child {
            summary.command_status = summary.command_status.or(child.poll_exit());
        }
        Ok(summary)
    }

    /// Sleeps until an event arrives, the `-c` command exits, a signal comes, or the timeout.
    fn wait_for_events(&self, timeout_ms: i32) {
        use std::os::fd::AsRawFd;
        let ring = self.events.as_ref().and_then(OwnedMap::ring_fd);
        let child = self
            .child
            .as_ref()
            .and_then(|c| c.pidfd.as_ref())
            .map(|fd| fd.as_raw_fd());
        let target = self.target_exit.iter().map(|fd| fd.as_raw_fd());
        let mut pfds: Vec<libc::pollfd> = ring
            .into_iter()
            .chain(child)
            .chain(target)
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: a valid array of pollfds (possibly empty: then poll just sleeps). EINTR (a
        // signal) simply returns early.
        unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    }

    /// True once every `-p` process has exited. Pidfds of those gone are dropped, so that the
    /// event loop's poll does not return at once for them again.
    fn targets_exited(&mut self) -> bool {
        use std::os::fd::AsRawFd;
        if !self.has_targets {
            return false;
        }
        self.target_exit.retain(|fd| {
            let mut pfd = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, no waiting.
            unsafe { libc::poll(&mut pfd, 1, 0) != 1 }
        });
        self.target_exit.is_empty()
    }

    /// Handles every event in the ring buffer; `Some` when one of them was `exit()`.
    fn drain(&mut self, sink: &mut dyn Sink) -> Result<Option<StopReason>, RuntimeError> {
        let Some(mut ring) = self.events.take() else {
            return Ok(None);
        };
        let mut records = Vec::new();
        ring.drain(&mut |r| records.push(r.to_vec()));
        self.events = Some(ring);
        let mut stop = None;
        for record in records {
            if self.handle_event(&record, sink)? {
                stop = Some(StopReason::Exit);
                break;
            }
        }
        sink.flush().map_err(RuntimeError::Output)?;
        Ok(stop)
    }

    /// One ring-buffer record: a u64 event id, then the payload the event's layout describes
    /// (layout offsets count from the payload's start). True for `exit()`.
    fn handle_event(&mut self, record: &[u8], sink: &mut dyn Sink) -> Result<bool, RuntimeError> {
        let id = decode::read_uint(record, 0, 8) as usize;
        let payload = record.get(8..).unwrap_or(&[]);
        let Some(event) = self.manifest.events.get(id).cloned() else {
            return Ok(false);
        };
        let out = RuntimeError::Output;
        match event {
            EventSpec::Printf { format, args, .. } => {
                let values = decode::fields(&args, payload, &self.resolver);
                sink.printf(&printf::format(&format, &values))
                    .map_err(out)?;
            }
            EventSpec::Exit => return Ok(true),
            // As bpftrace's -kk warning, with the line and column of the read.
            EventSpec::HelperError { helper, location } => {
                let code = decode::read_uint(payload, 0, 8) as i64;
                // SAFETY: strerror returns a valid NUL-terminated string for any errno.
                let reason = unsafe { std::ffi::CStr::from_ptr(libc::strerror(-code as i32)) }
                    .to_string_lossy()
                    .into_owned();
                // `location` is `LINE:COL-END`, then the source line and its underline.
                let (at, shown) = location.split_once('\n').unwrap_or((&location, ""));
                eprintln!("{at}: WARNING: Failed to {helper}: {reason} ({code})\n{shown}");
            }
            EventSpec::Print { map, top, div } => {
                if let Some(mut snapshot) = self.snapshot_named(&map)? {
                    // bpftrace 0.17 prints a stats() map whole (the checker warns).
                    let stats = snapshot
                        .entries
                        .iter()
                        .any(|e| matches!(e.value, MapValue::Stats { .. }));
                    let (top, div) = if stats { (0, 1) } else { (top, div.max(1)) };
                    snapshot.keep_top(top);
                    sink.print_map(&snapshot, div).map_err(out)?;
                }
            }
            EventSpec::Clear { map } => {
                if let Some(raw) = self.raw_named(&map) {
                    for key in raw
                        .keys()
                        .map_err(|e| RuntimeError::io(format!("clearing {map}"), e))?
                    {
                        let _ = raw.delete(&key);
                    }
                }
                sink.cleared(&map);
            }
            EventSpec::Zero { map } => {
                if let Some(raw) = self.raw_named(&map) {
                    let zero = vec![0u8; raw.value_size.div_ceil(8) * 8 * raw.copies];
                    for key in raw
                        .keys()
                        .map_err(|e| RuntimeError::io(format!("zeroing {map}"), e))?
                    {
                        let _ = raw.update(&key, &zero);
                    }
                }
            }
            EventSpec::Cat { format, args } => {
                let values = decode::fields(&args, payload, &self.resolver);
                let path = printf::format(&format, &values);
                // bpftrace says on stderr why the file cannot be read, and goes on.
                match std::fs::read(&path) {
                    Ok(bytes) => sink.printf(&String::from_utf8_lossy(&bytes)).map_err(out)?,
                    Err(e) => eprintln!(
                        "gprobe: error: failed to open file '{path}': {}",
                        crate::render::render(
                            gprobe_compiler::types::Render::Errno,
                            e.raw_os_error().unwrap_or(0) as u64
                        )
                    ),
                }
            }
            EventSpec::System { format, args } => {
                let values = decode::fields(&args, payload, &self.resolver);
                let command = printf::format(&format, &values);
                // Run in the session loop, as bpftrace does: its output is in order with the
                // rest.
                let text = match std::process::Command::new("/bin/sh")
                    .args(["-c", &command])
                    .stdin(std::process::Stdio::null())
                    .output()
                {
                    Ok(done) => String::from_utf8_lossy(&done.stdout).into_owned(),
                    Err(e) => format!("system({command}): {e}\n"),
                };
                sink.printf(&text).map_err(out)?;
            }
            EventSpec::PrintValue { value } => {
                let v = decode::record(&value, payload, &self.resolver);
                let text = crate::output::text::value(&v);
                sink.printf(&format!("{text}\n")).map_err(out)?;
            }
            EventSpec::JoinPart { delimiter, size } => {
                let cpu = decode::read_uint(payload, 0, 4) as u32;
                let index = decode::read_uint(payload, 4, 4) as u32;
                if index == u32::MAX {
                    let mut line = self.joins.remove(&cpu).unwrap_or_default();
                    line.push('\n');
                    sink.printf(&line).map_err(out)?;
                } else {
                    let part = decode::c_string(decode_bytes(payload, 8, size as usize));
                    let line = self.joins.entry(cpu).or_default();
                    if index == 0 {
                        line.clear();
                    } else {
                        line.push_str(&delimiter);
                    }
                    line.push_str(&part);
                }
            }
            EventSpec::Time { format } => sink.time(&timefmt::format_now(&format)).map_err(out)?,
            EventSpec::ProcessExec => {
                let pid = decode::read_uint(payload, 0, 8) as u32;
                let image = ExecImage {
                    dev: decode::read_uint(payload, 16, 8),
                    ino: decode::read_uint(payload, 24, 8),
                    file: decode::c_string(payload.get(32..).unwrap_or(&[])),
                };
                self.resolver.process_exec(pid, &image);
                let exec_ns = decode::read_uint(payload, 8, 8);
                self.dynamic.process_exec(
                    pid,
                    exec_ns,
                    &self.manifest,
                    &mut self.loaded,
                    &mut self.resolver,
                );
            }
            EventSpec::WatchpointArm { program, resume } => {
                let pid = decode::read_uint(payload, 0, 8) as u32;
                let address = decode::read_uint(payload, 8, 8);
                if self.armed_watchpoints.insert((program.clone(), address))
                    && let Some(spec) = self.manifest.programs.iter().find(|p| p.name == program)
                    && let Err(why) = self.loaded.arm_watchpoint(spec, pid, address)
                {
                    eprintln!(
                        "gprobe: warning: cannot attach {} at {address:#x} (pid {pid}): {why}",
                        spec.probe_name
                    );
                }
                if resume {
                    // The arming program stopped the process (SIGSTOP) until now.
                    // SAFETY: kill(2) with a pid and a signal number, no memory involved.
                    unsafe {
                        libc::kill(pid as libc::pid_t, libc::SIGCONT);
                    }
                }
            }
            EventSpec::ProcessExit => {
                let pid = decode::read_uint(payload, 0, 8) as u32;
                self.resolver.process_exit(pid);
            }
            EventSpec::Emit { probe, record, .. } => {
                let ktime = decode::read_uint(payload, 0, 8);
                let ts = self.resolver.unix_ns(ktime);
                let value = decode::record(&record, payload, &self.resolver);
                sink.emit(&probe, ts, &value).map_err(out)?;
            }
        }
        Ok(false)
    }

    fn spec_named(&self, name: &str) -> Option<usize> {
        self.manifest
            .maps
            .iter()
            .position(|m| m.name == name || m.user_name.as_deref() == Some(name))
    }

    fn raw_of(&self, index: usize) -> Option<RawMap> {
        self.maps
            .iter()
            .find(|(i, _)| *i == index)
            .and_then(|(_, m)| m.raw())
    }

    fn raw_named(&self, name: &str) -> Option<RawMap> {
        self.raw_of(self.spec_named(name)?)
    }

    fn snapshot_named(&self, name: &str) -> Result<Option<MapSnapshot>, RuntimeError> {
        let Some(index) = self.spec_named(name) else {
            return Ok(None);
        };
        let Some(raw) = self.raw_of(index) else {
            return Ok(None);
        };
        Ok(Some(snapshot(
            &self.manifest.maps[index],
            raw,
            &self.resolver,
        )?))
    }

    /// Every user map, decoded.
    pub fn user_maps(&self) -> Result<Vec<MapSnapshot>, RuntimeError> {
        let mut out = Vec::new();
        for (index, map) in &self.maps {
            let spec = &self.manifest.maps[*index];
            if spec.role != MapRole::User {
                continue;
            }
            if let Some(raw) = map.raw() {
                out.push(snapshot(spec, raw, &self.resolver)?);
            }
        }
        Ok(out)
    }

    /// User hash maps holding as many entries as they can: inserts of new keys failed from
    /// then on. (Maps that lose keys while tracing also count each failure in the program.)
    fn full_maps(&self) -> Vec<(String, u32)> {
        self.maps
            .iter()
            .filter_map(|(index, map)| {
                let spec = &self.manifest.maps[*index];
                let hash = matches!(spec.kind, MapKind::Hash | MapKind::PerCpuHash);
                if spec.role != MapRole::User || !hash {
                    return None;
                }
                let entries = map.raw()?.keys().ok()?.len();
                (entries >= spec.max_entries as usize).then(|| {
                    let name = spec.user_name.clone().unwrap_or_else(|| spec.name.clone());
                    (name, spec.max_entries)
                })
            })
            .collect()
    }

    fn role_map(&self, role: MapRole) -> Option<RawMap> {
        let index = self.manifest.maps.iter().position(|m| m.role == role)?;
        self.raw_of(index)
    }

    /// Slot `slot` of the Config map (see [`MapRole::Config`]): CLOCK_MONOTONIC now, the base
    /// of `elapsed`, or the target's pid for `tpid`.
    fn write_config(&self, slot: u32, value_u64: u64) -> Result<(), RuntimeError> {
        let Some(raw) = self.role_map(MapRole::Config) else {
            return Ok(());
        };
        let stride = if raw.copies > 1 {
            raw.value_size.div_ceil(8) * 8
        } else {
            raw.value_size
        };
        let mut value = vec![0u8; stride * raw.copies];
        for copy in 0..raw.copies {
            let at = copy * stride;
            let n = raw.value_size.min(8);
            value[at..at + n].copy_from_slice(&value_u64.to_le_bytes()[..n]);
        }
        raw.update(&key_of(slot, raw.key_size), &value)
            .map_err(|e| RuntimeError::io("writing the config map", e))
    }

    /// Counters slot `slot`, summed over CPUs.
    fn counter(&self, slot: u32) -> u64 {
        let Some(raw) = self.role_map(MapRole::Counters) else {
            return 0;
        };
        if self
            .manifest
            .maps
            .iter()
            .any(|m| m.role == MapRole::Counters && m.kind == MapKind::Global)
        {
            // One shared value (see opt::failure_counters): slot i is the u64 at byte 8 * i.
            let Ok(Some(value)) = raw.lookup(&key_of(0, raw.key_size)) else {
                return 0;
            };
            return decode::read_uint(&value, slot as usize * 8, 8);
        }
        let Ok(Some(value)) = raw.lookup(&key_of(slot, raw.key_size)) else {
            return 0;
        };
        decode::split_per_cpu(&value, raw.value_size, raw.copies)
            .iter()
            .map(|v| decode::read_uint(v, 0, 8))
            .fold(0, u64::wrapping_add)
    }

    /// (lost events, dropped map updates), summed over CPUs; a lost `exit()` is a lost event.
    fn counters(&self) -> (u64, u64) {
        (self.counter(0) + self.counter(2), self.counter(1))
    }

    fn exit_record_lost(&self) -> bool {
        self.counter(2) > 0
    }

    fn stack_maps(&self) -> Vec<(StackKind, RawMap)> {
        self.manifest
            .maps
            .iter()
            .enumerate()
            .filter_map(|(i, m)| match m.role {
                MapRole::Stacks { kind } => Some((kind, self.raw_of(i)?)),
                _ => None,
            })
            .collect()
    }
}

/// CLOCK_MONOTONIC now in ns: the clock of `bpf_ktime_get_ns`.
pub(crate) fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// A clock's current time in ns.
fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid timespec out-pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

pub(crate) fn key_of(index: u32, key_size: usize) -> Vec<u8> {
    let mut key = vec![0u8; key_size.max(4)];
    key[..4].copy_from_slice(&index.to_le_bytes());
    key.truncate(key_size.max(1));
    key
}

/// Reads a whole map from the kernel and decodes it.
fn snapshot(
    spec: &MapSpec,
    raw: RawMap,
    resolve: &dyn Resolve,
) -> Result<MapSnapshot, RuntimeError> {
    let what = || {
        format!(
            "reading map {}",
            spec.user_name.as_deref().unwrap_or(&spec.name)
        )
    };
    let mut entries = Vec::new();
    for key in raw.keys().map_err(|e| RuntimeError::io(what(), e))? {
        let Some(value) = raw.lookup(&key).map_err(|e| RuntimeError::io(what(), e))? else {
            continue;
        };
        let values = if raw.copies > 1 {
            decode::split_per_cpu(&value, raw.value_size, raw.copies)
        } else {
            vec![value]
        };
        entries.push(RawEntry { key, values });
    }
    // Arrays hold every slot; a slot never written is all zeros and is not a user entry
    // (bpftrace prints only keys that were assigned).
    if matches!(
        spec.kind,
        gprobe_compiler::manifest::MapKind::Array | gprobe_compiler::manifest::MapKind::PerCpuArray
    ) {
        entries.retain(|e| e.values.iter().any(|v| v.iter().any(|&b| b != 0)));
    }
    Ok(decode::snapshot(spec, &entries, resolve))
}

/// The pids of `pids` whose executable is the file uprobe `spec` attaches to; all of them if
/// none is (a library, say, which any of them may map).
fn pids_running(spec: &ProgramSpec, pids: &[u32]) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    let Attach::Uprobe { binary, .. } = &spec.attach else {
        return pids.to_vec();
    };
    let key = |path: &Path| std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    let Some(file) = key(Path::new(binary)) else {
        return pids.to_vec();
    };
    let running: Vec<u32> = pids
        .iter()
        .copied()
        .filter(|pid| key(Path::new(&format!("/proc/{pid}/exe"))) == Some(file))
        .collect();
    if running.is_empty() {
        pids.to_vec()
    } else {
        running
    }
}

/// The binary user addresses belong to: the first uprobe's target, else the traced command or pid.
fn user_binary(manifest: &Manifest, options: &Options) -> Option<PathBuf> {
    manifest
        .programs
        .iter()
        // A binary pattern's programs are in many binaries: none is *the* user binary.
        .filter(|p| p.pattern.is_none())
        .find_map(|p| match &p.attach {
            Attach::Uprobe { binary, .. } => Some(PathBuf::from(binary)),
            _ => None,
        })
        .or_else(|| {
            options
                .pid
                .map(|pid| PathBuf::from(format!("/proc/{pid}/exe")))
        })
}

/// Installs SIGINT/SIGTERM (stop) and SIGUSR1 (print the maps) handlers for the session and restores the previous ones on drop.
struct SignalGuard {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl SignalGuard {
    fn install() -> SignalGuard {
        STOP_REQUESTED.store(false, Ordering::SeqCst);
        PRINT_MAPS_REQUESTED.store(false, Ordering::SeqCst);
        let mut previous = Vec::new();
        let stop = on_stop_signal as *const () as libc::sighandler_t;
        let print = on_print_signal as *const () as libc::sighandler_t;
        for (sig, handler) in [
            (libc::SIGINT, stop),
            (libc::SIGTERM, stop),
            (libc::SIGUSR1, print),
        ] {
            // SAFETY: a zeroed sigaction with a valid handler; old is a valid out-pointer.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &action, &mut old) == 0 {
                    previous.push((sig, old));
                }
            }
        }
        SignalGuard { previous }
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        for (sig, old) in &self.previous {
            // SAFETY: restoring what sigaction gave us.
            unsafe { libc::sigaction(*sig, old, std::ptr::null_mut()) };
        }
    }
}

/// How many distinct probes `programs` are, as the banner counts them (watch programs aside).
fn distinct_probes<'a>(programs: impl Iterator<Item = &'a ProgramSpec>) -> usize {
    let mut names: Vec<&str> = programs
        .map(|p| p.probe_name.as_str())
        .filter(|name| !name.starts_with(gprobe_compiler::lower::WATCH_PREFIX))
        .collect();
    names.sort();
    names.dedup();
    names.len()
}

/// The probe a program comes from: `gp_p3` of `gp_p3`, `gp_p3_1` and `gp_p3_1_v2`.
fn probe_of(name: &str) -> &str {
    let digits = name
        .strip_prefix("gp_p")
        .map_or(0, |r| r.bytes().take_while(u8::is_ascii_digit).count());
    &name[.."gp_p".len().min(name.len()) + digits]
}

/// How many other programs come from `spec`'s probe (its other attach points).
fn probe_siblings(programs: &[ProgramSpec], spec: &ProgramSpec) -> usize {
    let probe = probe_of(&spec.name);
    programs
        .iter()
        .filter(|p| p.name != spec.name && probe_of(&p.name) == probe && !kernel::is_pending(p))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_code_is_found() {
        let t = own_code_location(gprobe_trigger_begin as *const () as u64).unwrap();
        assert!(t.exe.exists());
        assert!(t.offset > 0);
        assert_eq!(key_of(1, 4), vec![1, 0, 0, 0]);
    }
}
