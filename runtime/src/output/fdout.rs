//! Trace output to stdout or `-o FILE` that never holds a stop up: a plain `write(2)` to a pipe
//! whose reader has stalled (`gprobe ... | (sleep 25; cat)`) blocks the event loop, and since
//! SIGINT/SIGTERM are delivered to the main thread, not the session's, nothing interrupts it.
//! So a pipe, socket or terminal is written only once `poll` says it has room, in ticks that
//! look at the stop flag; once a stop is requested, a reader that takes no more output within
//! [`STOP_GRACE_MS`] forfeits the rest (END and the final maps are then discarded, not waited
//! for). A reader that went away (EPIPE) is an error, as for any writer.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::sync::atomic::{AtomicBool, Ordering};

/// Some writer abandoned its output (see [`output_abandoned`]).
static ABANDONED: AtomicBool = AtomicBool::new(false);

/// True once any `FdOut` dropped output because its reader stalled after a stop, so the CLI
/// can say so at exit (where it is safe to: the writer itself may share the stalled pipe
/// with stderr).
pub fn output_abandoned() -> bool {
    ABANDONED.load(Ordering::SeqCst)
}

/// How often a blocked write looks at the stop flag.
const TICK_MS: i32 = 100;
/// How long after a stop a stalled reader is waited for before the output is abandoned.
pub const STOP_GRACE_MS: i32 = 250;
/// At most this much per write after `poll` said "writable": a pipe then takes it without
/// blocking (POLLOUT on a pipe means at least PIPE_BUF bytes fit).
const CHUNK: usize = libc::PIPE_BUF;

pub struct FdOut {
    file: File,
    /// False for regular files and block devices, which are always writable.
    pollable: bool,
    /// A stop came while the reader was stalled: everything from now on is dropped.
    abandoned: bool,
}

impl FdOut {
    /// gprobe's stdout, as its own fd (a dup), bypassing Rust's line-buffered `Stdout`, which
    /// could hand `write(2)` more than a pipe has room for.
    pub fn stdout() -> io::Result<FdOut> {
        // Whatever was printed before tracing (dumps) goes out first.
        io::stdout().flush()?;
        let fd: OwnedFd = io::stdout().as_fd().try_clone_to_owned()?;
        Ok(FdOut::new(File::from(fd)))
    }

    pub fn new(file: File) -> FdOut {
        let pollable = file
            .metadata()
            .map(|m| !(m.file_type().is_file() || m.file_type().is_block_device()))
            .unwrap_or(true);
        FdOut {
            file,
            pollable,
            abandoned: false,
        }
    }

    /// True once output was dropped because the reader stalled after a stop.
    pub fn abandoned(&self) -> bool {
        self.abandoned
    }

    /// Waits until the fd takes output; false if a stop came and the reader stayed stalled.
    fn wait_writable(&self) -> io::Result<bool> {
        let mut stopping_since: Option<std::time::Instant> = None;
        loop {
            let stopping = crate::session::stop_requested();
            if stopping {
                let since = *stopping_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed().as_millis() as i32 >= STOP_GRACE_MS {
                    return Ok(false);
                }
            }
            let mut pfd = libc::pollfd {
                fd: self.file.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            };
            let timeout = if stopping { STOP_GRACE_MS / 5 } else { TICK_MS };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, timeout) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            // POLLERR/POLLHUP (reader gone) count as ready: the write then says EPIPE.
            if n > 0 && pfd.revents != 0 {
                return Ok(true);
            }
        }
    }
}

impl Write for FdOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.abandoned || buf.is_empty() {
            return Ok(buf.len());
        }
        if !self.pollable {
            return self.file.write(buf);
        }
        if !self.wait_writable()? {
            self.abandoned = true;
            ABANDONED.store(true, Ordering::SeqCst);
            return Ok(buf.len());
        }
        self.file.write(&buf[..buf.len().min(CHUNK)])
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Ends the process as a write to a closed pipe does by default (SIGPIPE, exit status 141 in
/// a shell), which is what bpftrace does when its reader goes away (`| head`). Rust ignores
/// SIGPIPE so that writes fail with EPIPE instead; the caller has cleaned up by then.
pub fn exit_by_sigpipe() -> ! {
    // SAFETY: restoring the default action and raising a signal on this thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    // Only if SIGPIPE is blocked: the same status by hand.
    std::process::exit(128 + libc::SIGPIPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_written_directly() {
        let path = std::env::temp_dir().join(format!("gprobe-fdout-{}", std::process::id()));
        let mut out = FdOut::new(File::create(&path).unwrap());
        assert!(!out.pollable);
        out.write_all(b"hello\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\n");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_closed_pipe_is_broken_pipe() {
        let mut fds = [0; 2];
        // SAFETY: a valid 2-element array; both fds are owned below.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        use std::os::fd::FromRawFd;
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
        drop(read);
        let mut out = FdOut::new(write);
        assert!(out.pollable);
        let e = out.write_all(b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }
}
