//! `.go.buildinfo`: the Go version and module information `go version -m` prints.
//!
//! A 32-byte header starts with `"\xff Go buildinf:"`, then pointer size and flags. From Go 1.18
//! (flags & 2) two varint-length-prefixed strings follow the header: the version, then the module
//! info wrapped in 16-byte sentinels. Before that the header holds two pointers to Go string
//! headers (ptr, len) somewhere in the data segment.

use super::{GoBinary, LoadSegment};

const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const FLAG_BIG_ENDIAN: u8 = 1;
const FLAG_INLINE_STRINGS: u8 = 2;
const SENTINEL_LEN: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    /// `go1.27.3`
    pub go_version: String,
    /// The main package's import path (`path` line), e.g. `example.com/srv/cmd/srv`.
    pub main_path: Option<String>,
    /// The main module's path (`mod` line), when built in module mode.
    pub main_module: Option<String>,
    /// `build` key/value settings (`-buildmode`, `CGO_ENABLED`, `GOARCH`, …).
    pub settings: Vec<(String, String)>,
    /// The raw module info text, sentinels removed.
    pub mod_info: String,
}

/// A module of the build (`mod` or `dep` line of `go version -m`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    /// `v1.2.3`, or `(devel)` for the main module.
    pub version: String,
    /// A `=>` replacement: the path (a directory, or another module) and its version.
    pub replaced_by: Option<(String, String)>,
}

impl std::fmt::Display for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.path, self.version)?;
        match &self.replaced_by {
            Some((path, v)) if v.is_empty() => write!(f, " => {path}"),
            Some((path, v)) => write!(f, " => {path} {v}"),
            None => Ok(()),
        }
    }
}

impl BuildInfo {
    /// The main module with its version (`mod` line), when built in module mode.
    pub fn main(&self) -> Option<Module> {
        self.module_lines("mod").next()
    }

    /// The library modules linked in (`dep` lines), in the build's order.
    pub fn modules(&self) -> Vec<Module> {
        self.module_lines("dep").collect()
    }

    /// `KEY\tpath\tversion\tsum` lines, each with the `=>` line that may follow it.
    fn module_lines<'a>(&'a self, key: &'a str) -> impl Iterator<Item = Module> + 'a {
        let mut lines = self.mod_info.lines().peekable();
        std::iter::from_fn(move || {
            loop {
                let line = lines.next()?;
                let mut fields = line.split('\t');
                if fields.next() != Some(key) {
                    continue;
                }
                let mut module = Module {
                    path: fields.next().unwrap_or_default().to_owned(),
                    version: fields.next().unwrap_or_default().to_owned(),
                    replaced_by: None,
                };
                if let Some(next) = lines.peek()
                    && let Some(rest) = next.strip_prefix("=>\t")
                {
                    let mut fields = rest.split('\t');
                    let path = fields.next().unwrap_or_default().to_owned();
                    module.replaced_by = Some((path, fields.next().unwrap_or_default().to_owned()));
                    lines.next();
                }
                return Some(module);
            }
        })
    }

    /// `go1.23.9` → (1, 23); `go1.19` → (1, 19); `devel …` → None.
    pub fn release(&self) -> Option<(u32, u32)> {
        let v = self.go_version.strip_prefix("go")?;
        let mut parts = v.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }

    /// Dependency `module`'s `dep` line words after the path (version, sum) and the words of
    /// the `=>` replacement line after it (path, version, sum), if any.
    fn dep(&self, module: &str) -> Option<(Vec<&str>, Option<Vec<&str>>)> {
        let mut lines = self.mod_info.lines().peekable();
        while let Some(line) = lines.next() {
            let mut words = line.split('\t');
            if words.next() == Some("dep") && words.next() == Some(module) {
                let replacement = lines
                    .peek()
                    .and_then(|next| next.strip_prefix("=>\t"))
                    .map(|rest| rest.split('\t').collect());
                return Some((words.collect(), replacement));
            }
        }
        None
    }

    /// The version of dependency `module` (`dep` line; a `=>` replacement's version wins when it
    /// has one: a module, not a directory), e.g. `v1.33.3`. None for a module not listed, and
    /// for GOPATH builds, which record no modules.
    pub fn module_version(&self, module: &str) -> Option<&str> {
        let (words, replacement) = self.dep(module)?;
        let replaced = replacement
            .and_then(|r| r.get(1).copied())
            .filter(|v| !v.is_empty() && *v != "(devel)");
        replaced.or_else(|| words.first().copied())
    }

    /// Whether dependency `module` is replaced by a directory (`=> ../fork`, `=> /src/x`): its
    /// `dep` line's version is then only what the build required, not what it compiled.
    pub fn replaced_by_directory(&self, module: &str) -> bool {
        self.dep(module)
            .and_then(|(_, replacement)| replacement)
            .and_then(|r| r.first().copied())
            .is_some_and(|path| path.starts_with('/') || path.starts_with('.'))
    }

    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn locate(bin: &GoBinary) -> Option<BuildInfo> {
        if let Some(sec) = bin.section(".go.buildinfo")
            && let Some(data) = bin.section_data(sec)
            && let Some(info) = parse_at(bin, data)
        {
            return Some(info);
        }
        // No section headers (or a renamed section): the header is 16-byte aligned in a segment.
        bin.load_segments()
            .iter()
            .find_map(|seg| scan_segment(bin, seg))
    }
}

fn scan_segment(bin: &GoBinary, seg: &LoadSegment) -> Option<BuildInfo> {
    let start = usize::try_from(seg.file_offset).ok()?;
    let end = start.checked_add(usize::try_from(seg.file_size).ok()?)?;
    let data = bin.data().get(start..end)?;
    // Segments start page-aligned in the file, so 16-byte alignment in memory is the same in data.
    (0..data.len())
        .step_by(16)
        .filter(|&i| data[i..].starts_with(MAGIC))
        .find_map(|i| parse_at(bin, &data[i..]))
}

/// Parses a build info blob starting at its magic.
pub(crate) fn parse_at(bin: &GoBinary, data: &[u8]) -> Option<BuildInfo> {
    if data.len() < 32 || !data.starts_with(MAGIC) {
        return None;
    }
    let ptr_size = data[14];
    let flags = data[15];
    let (version, mod_info) = if flags & FLAG_INLINE_STRINGS != 0 {
        let (version, rest) = read_varint_string(&data[32..])?;
        let (mod_info, _) = read_varint_string(rest)?;
        (version, mod_info)
    } else {
        if flags & FLAG_BIG_ENDIAN != 0 || (ptr_size != 4 && ptr_size != 8) {
            return None;
        }
        let word = |b: &[u8]| -> Option<u64> {
            Some(if ptr_size == 8 {
                u64::from_le_bytes(b.get(..8)?.try_into().ok()?)
            } else {
                u64::from(u32::from_le_bytes(b.get(..4)?.try_into().ok()?))
            })
        };
        let p = usize::from(ptr_size);
        let version_hdr = word(&data[16..])?;
        let mod_hdr = word(&data[16 + p..])?;
        let read_go_string = |hdr: u64| -> Option<String> {
            let h = bin.bytes_at(hdr, 2 * u64::from(ptr_size))?;
            let ptr = word(h)?;
            let len = word(&h[p..])?;
            // A build info string is short; refuse absurd lengths from corrupt pointers.
            if len > 1 << 20 {
                return None;
            }
            let bytes = bin.bytes_at(ptr, len)?;
            (bytes.len() as u64 == len).then(|| bytes_to_string(bytes))
        };
        (
            read_go_string(version_hdr)?,
            read_go_string(mod_hdr).unwrap_or_default(),
        )
    };
    if !version.starts_with("go") && !version.starts_with("devel") {
        return None;
    }
    Some(from_parts(version, &mod_info))
}

fn from_parts(go_version: String, raw_mod_info: &str) -> BuildInfo {
    let mod_info = strip_sentinels(raw_mod_info).to_owned();
    let mut main_path = None;
    let mut main_module = None;
    let mut settings = Vec::new();
    for line in mod_info.lines() {
        let mut fields = line.split('\t');
        match (fields.next(), fields.next()) {
            (Some("path"), Some(p)) => main_path = Some(p.to_owned()),
            (Some("mod"), Some(m)) => main_module = Some(m.to_owned()),
            (Some("build"), Some(kv)) => {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                settings.push((k.to_owned(), v.to_owned()));
            }
            _ => {}
        }
    }
    BuildInfo {
        go_version,
        main_path,
        main_module,
        settings,
        mod_info,
    }
}

fn strip_sentinels(s: &str) -> &str {
    // The sentinels are arbitrary bytes; after lossy decoding we only know their byte length when
    // they decoded as themselves, so cut at the first line that starts a known key instead.
    let bytes = s.as_bytes();
    if bytes.len() >= 2 * SENTINEL_LEN && s.is_char_boundary(SENTINEL_LEN) {
        let end = bytes.len() - SENTINEL_LEN;
        if s.is_char_boundary(end) {
            return &s[SENTINEL_LEN..end];
        }
    }
    match s.find("path\t") {
        Some(i) => &s[i..],
        None => s,
    }
}

fn read_varint_string(data: &[u8]) -> Option<(String, &[u8])> {
    let mut len: u64 = 0;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let b = *data.get(i)?;
        i += 1;
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let len = usize::try_from(len).ok()?;
    let bytes = data.get(i..i.checked_add(len)?)?;
    // Module info sentinels are not UTF-8; keep the bytes lossless where it matters (the text).
    Some((bytes_to_string(bytes), &data[i + len..]))
}

fn bytes_to_string(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) if bytes.len() >= 2 * SENTINEL_LEN => {
            let inner = &bytes[SENTINEL_LEN..bytes.len() - SENTINEL_LEN];
            // Re-wrap with ASCII placeholders so strip_sentinels cuts the right number of bytes.
            let mut s = "#".repeat(SENTINEL_LEN);
            s.push_str(&String::from_utf8_lossy(inner));
            s.push_str(&"#".repeat(SENTINEL_LEN));
            s
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_strings() {
        let mut blob = vec![8u8];
        blob.extend_from_slice(b"go1.21.0");
        blob.push(0);
        let (v, rest) = read_varint_string(&blob).unwrap();
        assert_eq!(v, "go1.21.0");
        assert_eq!(rest, &[0]);
        assert!(read_varint_string(&[0x80, 0x80]).is_none());
        assert!(read_varint_string(&[50, b'g']).is_none());
        assert!(read_varint_string(&[0xff; 20]).is_none());
    }

    #[test]
    fn module_versions_from_dep_lines() {
        let info = from_parts(
            "go1.23.9".into(),
            "################path\tex/srv\nmod\tex/srv\t(devel)\t\n\
             dep\tgoogle.golang.org/grpc\tv1.33.3\th1:x=\ndep\tgolang.org/x/net\tv0.1.0\t\n\
             =>\t../net\t\t\ndep\tgithub.com/d/e\tv5.0.7\t\n=>\t/src/e\t(devel)\t\n\
             dep\tgithub.com/a/b\tv1.0.0\t\n\
             =>\tgithub.com/c/b\tv1.2.0\th1:y=\n################",
        );
        assert_eq!(
            info.module_version("google.golang.org/grpc"),
            Some("v1.33.3")
        );
        assert_eq!(info.module_version("golang.org/x/net"), Some("v0.1.0"));
        // A directory replacement's version is `(devel)` (or empty): the required one stands,
        // and the replacement is told.
        assert_eq!(info.module_version("github.com/d/e"), Some("v5.0.7"));
        assert!(info.replaced_by_directory("github.com/d/e"));
        assert!(info.replaced_by_directory("golang.org/x/net"));
        assert!(!info.replaced_by_directory("github.com/a/b"));
        assert!(!info.replaced_by_directory("google.golang.org/grpc"));
        assert_eq!(info.module_version("github.com/a/b"), Some("v1.2.0"));
        assert_eq!(info.module_version("google.golang.org/protobuf"), None);
    }

    #[test]
    fn mod_info_lines() {
        let info = from_parts(
            "go1.23.9".into(),
            "################path\tex.com/a/cmd\nmod\tex.com/a\t(devel)\t\nbuild\tGOARCH=amd64\n################",
        );
        assert_eq!(info.release(), Some((1, 23)));
        assert_eq!(info.main_path.as_deref(), Some("ex.com/a/cmd"));
        assert_eq!(info.main_module.as_deref(), Some("ex.com/a"));
        assert_eq!(info.setting("GOARCH"), Some("amd64"));
        assert_eq!(info.main().map(|m| m.version).as_deref(), Some("(devel)"));
    }

    #[test]
    fn module_list() {
        let info = from_parts(
            "go1.23.9".into(),
            "path\tex.com/a\nmod\tex.com/a\tv1.0.0\th1:x\ndep\tgoogle.golang.org/grpc\tv1.60.1\th1:y\n\
             dep\tgolang.org/x/net\tv0.1.0\th1:z\n=>\t../net\t(devel)\t\nbuild\tGOOS=linux\n",
        );
        let deps: Vec<_> = info.modules().into_iter().map(|m| m.to_string()).collect();
        assert_eq!(
            deps,
            [
                "google.golang.org/grpc v1.60.1",
                "golang.org/x/net v0.1.0 => ../net (devel)"
            ]
        );
    }
}
