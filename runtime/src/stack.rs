//! A symbolized stack as map keys and values carry it: the frames as they print, and — when a
//! profile output (pprof) asked the resolver for them — the addresses they came from, each with
//! its binary's mapping and its source lines (inlined calls as lines of their own).

use std::ops::Deref;
use std::sync::Arc;

/// A stack, innermost frame first. Derefs to its printed frames, so text, JSON and flame graph
/// outputs read it as the list of lines it prints as.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stack {
    /// One line per frame as it should print (inlined frames expanded).
    pub frames: Vec<String>,
    /// The addresses walked, innermost first; empty unless asked for (see
    /// [`crate::output::Sink::wants_profile`]).
    pub pcs: Vec<Pc>,
}

impl Deref for Stack {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.frames
    }
}

impl<'a> IntoIterator for &'a Stack {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.frames.iter()
    }
}

impl From<Vec<String>> for Stack {
    fn from(frames: Vec<String>) -> Stack {
        Stack {
            frames,
            pcs: Vec::new(),
        }
    }
}

impl FromIterator<String> for Stack {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Stack {
        Stack::from(iter.into_iter().collect::<Vec<String>>())
    }
}

/// One address of a stack.
#[derive(Clone, Debug, PartialEq)]
pub struct Pc {
    /// The run-time address as walked (a return address above the innermost frame).
    pub address: u64,
    /// Whether `address` is a return address: its source lines are those of the call before it.
    pub return_address: bool,
    /// The file mapped where `address` lies; None for kernel or unknown addresses.
    pub mapping: Option<Arc<PcMapping>>,
    /// Innermost first: functions inlined at this address, then the function holding it.
    /// Empty when nothing names the address.
    pub lines: Vec<PcLine>,
}

/// A function and source position; `file` empty and `line` 0 when only a symbol is known.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PcLine {
    pub function: String,
    pub file: String,
    pub line: i64,
}

/// Where a file is mapped in the traced process.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PcMapping {
    /// Run-time addresses `[start, limit)`.
    pub start: u64,
    pub limit: u64,
    /// File offset mapped at `start`.
    pub offset: u64,
    pub file: String,
    /// `.note.gnu.build-id` as hex, else Go's build id; empty if neither.
    pub build_id: String,
    /// Named from Go's pclntab: every address has a function, file and line.
    pub go: bool,
}

impl PcLine {
    /// A frame known only by its symbol (`name+off` without the offset).
    pub fn symbol(name: &str) -> PcLine {
        PcLine {
            function: crate::output::flamegraph::frame_name(name).to_string(),
            file: String::new(),
            line: 0,
        }
    }
}

/// The source lines of Go code at link-time address `pc` from the pclntab, inlined calls first.
/// `return_address`: those of the call instruction before it.
pub fn go_lines(
    bin: &gprobe_compiler::gobin::GoBinary,
    pc: u64,
    return_address: bool,
) -> Vec<PcLine> {
    let lookup = if return_address {
        pc.saturating_sub(1)
    } else {
        pc
    };
    let Some(f) = bin.function_at(lookup) else {
        return Vec::new();
    };
    let frames = bin.symbolize(lookup);
    if frames.is_empty() {
        return vec![PcLine {
            function: f.name.clone(),
            file: String::new(),
            line: 0,
        }];
    }
    frames
        .into_iter()
        .map(|fr| PcLine {
            function: fr.function,
            file: if fr.file == "?" {
                String::new()
            } else {
                fr.file
            },
            line: fr.line,
        })
        .collect()
}
