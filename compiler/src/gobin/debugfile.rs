//! Separate debug info: the DWARF of a stripped binary kept aside (`objcopy --only-keep-debug`),
//! given by path or found under `/usr/lib/debug/.build-id/xx/yyyy.debug` by the binary's GNU build
//! id. A debug file is used only when its build ids equal the binary's: DWARF of another build
//! would put arguments at wrong offsets.
//!
//! Go writes its own build id note (`.note.go.buildid`); the GNU one (`.note.gnu.build-id`) comes
//! with `-ldflags=-B gobuildid`, an external linker, and by default from Go 1.24 on. Both survive
//! `objcopy --only-keep-debug`; whichever both files have is compared.

use std::fmt;
use std::path::{Path, PathBuf};

use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
use object::{LittleEndian, Object};

/// Where distributions install debug files (`/usr/lib/debug/.build-id/…`).
pub const DEBUG_DIR: &str = "/usr/lib/debug";

/// The build ids a file records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildIds {
    /// `NT_GNU_BUILD_ID`, as lowercase hex.
    pub gnu: Option<String>,
    /// The Go build id (`actionID/.../contentID`).
    pub go: Option<String>,
}

impl BuildIds {
    pub fn read(data: &[u8]) -> BuildIds {
        let gnu = object::File::parse(data)
            .ok()
            .and_then(|f| f.build_id().ok().flatten().map(hex));
        BuildIds {
            gnu,
            go: go_build_id(data),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.gnu.is_none() && self.go.is_none()
    }

    /// Whether the two name the same build: every id both have is equal, and they share one.
    pub fn matches(&self, other: &BuildIds) -> bool {
        let pairs = [(&self.gnu, &other.gnu), (&self.go, &other.go)];
        let shared: Vec<_> = pairs
            .iter()
            .filter_map(|(a, b)| Some((a.as_ref()?, b.as_ref()?)))
            .collect();
        !shared.is_empty() && shared.iter().all(|(a, b)| a == b)
    }
}

impl fmt::Display for BuildIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.gnu, &self.go) {
            (Some(gnu), Some(go)) => write!(f, "GNU build id {gnu}, Go build id {go}"),
            (Some(gnu), None) => write!(f, "GNU build id {gnu}"),
            (None, Some(go)) => write!(f, "Go build id {go}"),
            (None, None) => f.write_str("no build id"),
        }
    }
}

/// A debug file whose build ids are not the binary's.
#[derive(Debug)]
pub struct Mismatch {
    pub path: PathBuf,
    /// The binary, as the user named it.
    pub binary: String,
    pub file_ids: BuildIds,
    pub binary_ids: BuildIds,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = (self.file_ids.gnu.is_some() && self.binary_ids.gnu.is_some())
            || (self.file_ids.go.is_some() && self.binary_ids.go.is_some());
        let verdict = match shared {
            true => "is not from this build of",
            // Nothing to compare: DWARF of unknown origin could be another build's.
            false => "cannot be checked against",
        };
        write!(
            f,
            "the debug file {} {verdict} {}: the debug file has {}, the binary has {}",
            self.path.display(),
            self.binary,
            self.file_ids,
            self.binary_ids
        )
    }
}

/// Where a binary's DWARF comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DwarfSource {
    Binary,
    DebugFile(PathBuf),
    None,
}

impl fmt::Display for DwarfSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DwarfSource::Binary => f.write_str("the binary"),
            DwarfSource::DebugFile(p) => write!(f, "debug file {}", p.display()),
            DwarfSource::None => f.write_str("none (stripped; no debug file)"),
        }
    }
}

/// `DIR/.build-id/xx/yyyy.debug` for GNU build id `xxyyyy` (hex).
pub fn build_id_path(dir: &Path, gnu: &str) -> Option<PathBuf> {
    if gnu.len() < 3 || !gnu.is_ascii() {
        return None;
    }
    let (head, tail) = gnu.split_at(2);
    Some(
        dir.join(".build-id")
            .join(head)
            .join(format!("{tail}.debug")),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The desc of the `Go` note (type 4) in `.note.go.buildid`.
fn go_build_id(data: &[u8]) -> Option<String> {
    let file = ElfFile64::<LittleEndian>::parse(data).ok()?;
    let endian = file.endian();
    let header = file.elf_header();
    let sections = header.sections(endian, data).ok()?;
    for section in sections.iter() {
        let name = sections.section_name(endian, section).ok()?;
        if name != b".note.go.buildid" {
            continue;
        }
        let mut notes = section.notes(endian, data).ok()??;
        while let Ok(Some(note)) = notes.next() {
            if note.name() == object::elf::ELF_NOTE_GO
                && note.n_type(endian) == object::elf::NT_GO_BUILD_ID
            {
                return std::str::from_utf8(note.desc()).ok().map(str::to_owned);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(gnu: Option<&str>, go: Option<&str>) -> BuildIds {
        BuildIds {
            gnu: gnu.map(Into::into),
            go: go.map(Into::into),
        }
    }

    #[test]
    fn matching_compares_what_both_have() {
        assert!(ids(Some("ab"), Some("x")).matches(&ids(Some("ab"), None)));
        assert!(ids(None, Some("x")).matches(&ids(Some("ab"), Some("x"))));
        assert!(!ids(Some("ab"), Some("x")).matches(&ids(Some("ab"), Some("y"))));
        assert!(!ids(Some("ab"), None).matches(&ids(None, Some("x"))));
        assert!(!ids(None, None).matches(&ids(None, None)));
    }

    #[test]
    fn build_id_paths() {
        assert_eq!(
            build_id_path(Path::new("/usr/lib/debug"), "39ccb03f"),
            Some(PathBuf::from("/usr/lib/debug/.build-id/39/ccb03f.debug"))
        );
        assert_eq!(build_id_path(Path::new("/d"), "ab"), None);
    }
}
