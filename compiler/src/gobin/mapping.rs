//! The target binary's bytes: a read-only private file mapping (no copy of a 40 MB binary), or
//! an owned buffer for bytes handed in directly.
//!
//! A mapped file that is truncated while we read it would fault (SIGBUS); binaries being probed
//! are not rewritten in place (`go build` writes a new file and renames it), so we accept that.

use std::fs::File;
use std::ops::Deref;
use std::os::fd::AsRawFd;

pub enum Bytes {
    Owned(Vec<u8>),
    Mapped { ptr: *const u8, len: usize },
}

// SAFETY: the mapping is read-only and private; nothing writes through it.
unsafe impl Send for Bytes {}
unsafe impl Sync for Bytes {}

impl Bytes {
    pub fn map(file: &File) -> std::io::Result<Bytes> {
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| std::io::Error::other("file too large to map"))?;
        if len == 0 {
            return Ok(Bytes::Owned(Vec::new()));
        }
        // SAFETY: a fresh PROT_READ/MAP_PRIVATE mapping of a file we hold open; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Bytes::Mapped {
            ptr: ptr.cast(),
            len,
        })
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            // SAFETY: ptr/len describe a live mapping owned by self until drop.
            Bytes::Mapped { ptr, len } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        if let Bytes::Mapped { ptr, len } = *self {
            // SAFETY: unmapping exactly the region mmap returned; no borrows outlive self.
            unsafe {
                libc::munmap(ptr.cast_mut().cast(), len);
            }
        }
    }
}
