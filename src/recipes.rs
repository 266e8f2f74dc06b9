//! The recipe library: every `stdlib/*.gp` embedded at build time (see `build.rs`), and the few
//! comment directives a recipe may carry so one file serves every Go version:
//!
//! ```text
//! // @param $1 SECONDS=0 stop after SECONDS (0: until Ctrl-C or the target exits)
//! // @requires net/http HTTP server   (a target without net/http: one refusal, E0412)
//! // @if go >= 1.21 && func runtime.mallocgcTinySC2
//! ...probes for targets that match...
//! // @else
//! // @error this recipe needs ...      (instantiating fails with this message)
//! // @end
//! // @include http-route             (stdlib/include/http-route.gp, appended after the last line)
//! ```
//!
//! Directives are comments, so a recipe stays a valid gprobe program. Lines in a region that does
//! not apply to the target become empty lines, which keeps every span (and so every diagnostic)
//! pointing at the right line of `stdlib/NAME.gp`. A script file run directly (`gprobe FILE.gp`)
//! gets the same treatment: its `@param` defaults, and its regions resolved against the target.

use gprobe_compiler::gobin::GoBinary;
use std::path::{Path, PathBuf};

pub struct Recipe<'a> {
    pub name: &'a str,
    pub source: &'a str,
    /// Where the text comes from, for messages: a script file's path; `None` for the library's
    /// own `stdlib/NAME.gp`.
    pub file: Option<&'a str>,
}

/// Every recipe, sorted by name.
pub static RECIPES: &[Recipe<'static>] = &{
    const LIST: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/recipes.rs"));
    let mut out = [const {
        Recipe {
            name: "",
            source: "",
            file: None,
        }
    }; LIST.len()];
    let mut i = 0;
    while i < LIST.len() {
        out[i] = Recipe {
            name: LIST[i].0,
            source: LIST[i].1,
            file: None,
        };
        i += 1;
    }
    out
};

/// Fragments recipes share (`// @include NAME`: `stdlib/include/NAME.gp`). A fragment is
/// appended after the recipe's last line, so every span of the recipe keeps its line; it sees
/// the macros the recipe defined.
const FRAGMENTS: &[(&str, &str)] = &[(
    "http-route",
    include_str!("../stdlib/include/http-route.gp"),
)];

pub fn find(name: &str) -> Option<&'static Recipe<'static>> {
    RECIPES.iter().find(|r| r.name == name)
}

/// A positional parameter a recipe declares with `// @param $N NAME=DEFAULT doc`.
#[derive(Debug, PartialEq, Eq)]
pub struct Param {
    pub index: usize,
    pub name: String,
    pub default: String,
    pub doc: String,
}

/// What a recipe's `@if` conditions may ask about the target.
pub trait Target {
    /// (major, minor) of the Go toolchain that built the target.
    fn go_release(&self) -> (u32, u32);
    /// Whether the target has a function of this exact name (in pclntab, so stripped binaries
    /// answer too).
    fn has_function(&self, name: &str) -> bool;
}

impl Target for GoBinary {
    fn go_release(&self) -> (u32, u32) {
        GoBinary::go_release(self)
    }
    fn has_function(&self, name: &str) -> bool {
        self.function(name).is_some()
    }
}

impl<'a> Recipe<'a> {
    /// The one-line description: the first line, `// NAME: description`.
    pub fn doc(&self) -> &'a str {
        let first = self.source.lines().next().unwrap_or("");
        first
            .trim_start_matches("//")
            .trim()
            .strip_prefix(self.name)
            .and_then(|rest| rest.strip_prefix(':'))
            .map_or("", str::trim)
    }

    pub fn params(&self) -> Vec<Param> {
        self.source
            .lines()
            .filter_map(|line| directive(line)?.strip_prefix("@param "))
            .filter_map(|rest| {
                let (var, rest) = rest.trim().split_once(' ')?;
                let index = var.strip_prefix('$')?.parse().ok()?;
                let (spec, doc) = rest.trim().split_once(' ').unwrap_or((rest.trim(), ""));
                let (name, default) = spec.split_once('=')?;
                Some(Param {
                    index,
                    name: name.to_string(),
                    default: default.to_string(),
                    doc: doc.trim().to_string(),
                })
            })
            .collect()
    }

    /// Positional parameters with the recipe's defaults filled in after the given ones.
    pub fn positional(&self, given: &[String]) -> Vec<String> {
        let mut params = self.params();
        params.sort_by_key(|p| p.index);
        let mut out = given.to_vec();
        for p in params {
            if p.index == out.len() + 1 {
                out.push(p.default);
            }
        }
        out
    }

    /// Whether the text has `@if` regions, which only a target can resolve.
    pub fn has_regions(&self) -> bool {
        self.source
            .lines()
            .any(|line| directive(line).is_some_and(|d| d.starts_with("@if ")))
    }

    /// The file the text comes from, for messages.
    fn file(&self) -> String {
        self.file
            .map_or_else(|| format!("stdlib/{}.gp", self.name), str::to_owned)
    }

    /// `text` with the fragments its live `// @include NAME` lines name appended.
    fn with_fragments(&self, mut text: String) -> Result<String, String> {
        let wanted: Vec<(usize, String)> = text
            .lines()
            .enumerate()
            .filter_map(|(n, line)| {
                let name = directive(line)?.strip_prefix("@include ")?;
                Some((n, name.trim().to_owned()))
            })
            .collect();
        for (number, name) in wanted {
            let (_, fragment) = FRAGMENTS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
                format!(
                    "{}:{}: no fragment `{name}` to include (stdlib/include/ has {})",
                    self.file(),
                    number + 1,
                    FRAGMENTS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(fragment);
        }
        Ok(text)
    }

    /// The text without a target (node-wide): as written, with its fragments.
    pub fn text(&self) -> Result<String, String> {
        self.with_fragments(self.source.to_owned())
    }

    /// The program text for `target`: regions whose `@if` does not hold are blanked out, and
    /// the fragments the live text includes appended.
    pub fn instantiate(&self, target: &dyn Target) -> Result<String, String> {
        // Each entry: is the enclosing region live, and has this `@if` already matched.
        let mut stack: Vec<(bool, bool)> = Vec::new();
        let live = |stack: &[(bool, bool)]| stack.iter().all(|(l, _)| *l);
        let mut out = String::with_capacity(self.source.len());
        for (number, line) in self.source.lines().enumerate() {
            let at = || format!("{}:{}", self.file(), number + 1);
            match directive(line) {
                Some(d) if d.starts_with("@if ") => {
                    let holds = condition(&d[4..], target).map_err(|e| format!("{}: {e}", at()))?;
                    stack.push((holds, holds));
                }
                Some("@else") => {
                    let (l, matched) = stack
                        .last_mut()
                        .ok_or_else(|| format!("{}: @else without @if", at()))?;
                    *l = !*matched;
                    *matched = true;
                }
                Some("@end") => {
                    stack
                        .pop()
                        .ok_or_else(|| format!("{}: @end without @if", at()))?;
                }
                Some(d) if d.starts_with("@error ") && live(&stack) => {
                    let (major, minor) = target.go_release();
                    let what = match self.file {
                        Some(file) => format!("`{file}`"),
                        None => format!("recipe `{}`", self.name),
                    };
                    return Err(format!(
                        "{what} cannot trace this target (Go {major}.{minor}): {}",
                        d[7..].trim()
                    ));
                }
                _ => {}
            }
            if live(&stack) {
                out.push_str(line);
            }
            out.push('\n');
        }
        if !stack.is_empty() {
            return Err(format!("{}: @if without @end", self.file()));
        }
        self.with_fragments(out)
    }
}

/// The directive of a `// @word ...` comment line.
fn directive(line: &str) -> Option<&str> {
    let rest = line.trim().strip_prefix("//")?.trim();
    rest.starts_with('@').then_some(rest)
}

/// `go >= 1.21`, `func runtime.ready`, `!func runtime.goready`, joined by `&&`.
fn condition(text: &str, target: &dyn Target) -> Result<bool, String> {
    let mut all = true;
    for part in text.split("&&") {
        let part = part.trim();
        let holds = if let Some(name) = part.strip_prefix("!func ") {
            !target.has_function(name.trim())
        } else if let Some(name) = part.strip_prefix("func ") {
            target.has_function(name.trim())
        } else if let Some(rest) = part.strip_prefix("go ") {
            let (op, version) = rest
                .trim()
                .split_once(' ')
                .ok_or_else(|| format!("bad condition `{part}`"))?;
            let (major, minor) = version
                .trim()
                .split_once('.')
                .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
                .ok_or_else(|| format!("bad Go version in `{part}`"))?;
            let have = target.go_release();
            let want = (major, minor);
            match op {
                ">=" => have >= want,
                ">" => have > want,
                "<=" => have <= want,
                "<" => have < want,
                "==" => have == want,
                _ => return Err(format!("bad operator in `{part}`")),
            }
        } else {
            return Err(format!("bad condition `{part}`"));
        };
        all &= holds;
    }
    Ok(all)
}

/// The executable a recipe will trace: `/proc/PID/exe` for `-p`, the first word of `-c`'s command
/// (looked up in PATH when it has no `/`).
pub fn target_binary(pid: Option<u32>, command: Option<&str>) -> Option<PathBuf> {
    if let Some(pid) = pid {
        return Some(PathBuf::from(format!("/proc/{pid}/exe")));
    }
    let program = command?.split_whitespace().next()?;
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}

/// Loads recipe `name` for the target of `-p`/`-c`: its program text, a file name for
/// diagnostics, and positional parameters with defaults filled in.
pub fn load(
    name: &str,
    pid: Option<u32>,
    command: Option<&str>,
    given: &[String],
) -> Result<(String, String, Vec<String>), String> {
    let recipe = find(name)
        .ok_or_else(|| format!("no recipe named `{name}` (`gprobe --recipes` lists them)"))?;
    let source = match target_binary(pid, command) {
        Some(path) => recipe.instantiate(&open_target(&path)?)?,
        // Node-wide: every Go program on the host, so nothing to adapt the text to.
        None if recipe.has_regions() => {
            return Err(format!(
                "recipe `{name}` adapts itself to the traced program's Go version, so it traces \
                 one program: give it with -p PID or -c CMD"
            ));
        }
        None => recipe.text()?,
    };
    Ok((
        source,
        format!("stdlib/{name}.gp"),
        recipe.positional(given),
    ))
}

/// A script file run directly, treated as `--recipe` treats a recipe: `// @param` defaults fill
/// the positional parameters not given, and `// @if` regions are resolved against the `-p`/`-c`
/// target. Returns the program text and the positional parameters; a file without directives
/// comes back unchanged.
pub fn load_file(
    file_name: &str,
    text: &str,
    pid: Option<u32>,
    command: Option<&str>,
    given: &[String],
) -> Result<(String, Vec<String>), String> {
    let script = Recipe {
        name: file_name,
        source: text,
        file: Some(file_name),
    };
    let positional = script.positional(given);
    if !script.has_regions() {
        return Ok((script.text()?, positional));
    }
    let path = target_binary(pid, command).ok_or_else(|| {
        format!(
            "{file_name} has `// @if` regions, which are resolved against the traced program: \
             give it with -p PID or -c CMD"
        )
    })?;
    Ok((script.instantiate(&open_target(&path)?)?, positional))
}

fn open_target(path: &Path) -> Result<GoBinary, String> {
    GoBinary::open(path).map_err(|e| {
        format!(
            "cannot read the target {} as a Go binary: {e}",
            path.display()
        )
    })
}

/// `gprobe --recipes`: one line per recipe, with its parameters.
pub fn listing() -> String {
    let mut out = String::new();
    for r in RECIPES {
        let params: Vec<String> = r
            .params()
            .iter()
            .map(|p| format!("[{}={}]", p.name, p.default))
            .collect();
        let usage = format!("{} {}", r.name, params.join(" "));
        out.push_str(&format!("{:<36} {}\n", usage.trim_end(), r.doc()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake((u32, u32), &'static [&'static str]);
    impl Target for Fake {
        fn go_release(&self) -> (u32, u32) {
            self.0
        }
        fn has_function(&self, name: &str) -> bool {
            self.1.contains(&name)
        }
    }

    #[test]
    fn every_stdlib_file_is_embedded_and_documented() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("stdlib");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".gp").map(str::to_string))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = RECIPES.iter().map(|r| r.name).collect();
        assert_eq!(on_disk, embedded);
        for r in RECIPES {
            assert!(
                !r.doc().is_empty(),
                "{} needs `// {}: doc` first",
                r.name,
                r.name
            );
            assert!(
                r.source.contains("Sample output"),
                "{} needs sample output",
                r.name
            );
        }
    }

    /// Every recipe parses, for every Go version we test, once its version regions are resolved.
    #[test]
    fn every_recipe_parses_for_each_go_version() {
        // database/sql: the sql recipe refuses a target without it.
        let sql = &["database/sql.(*DB).execDC"][..];
        let sc = &["runtime.mallocgcTinySC2", "database/sql.(*DB).execDC"][..];
        for target in [
            Fake((1, 19), sql),
            Fake((1, 23), sql),
            Fake((1, 25), sql),
            Fake((1, 27), sc),
        ] {
            for r in RECIPES {
                let text = r.instantiate(&target).unwrap_or_else(|e| panic!("{e}"));
                // Regions blank lines out, never remove them: spans keep their lines.
                assert!(text.lines().count() >= r.source.lines().count());
                assert_eq!(
                    text.lines().take(r.source.lines().count()).count(),
                    r.source.lines().count()
                );
                // With its parameters' defaults, as `--recipe` runs it (`interval:ms:$2`).
                let options = gprobe_compiler::syntax::ParseOptions {
                    positional: r.positional(&[]),
                    ..Default::default()
                };
                if let Err(d) = gprobe_compiler::syntax::parse_with(&text, &options) {
                    panic!("{} does not parse for Go {:?}: {d:?}", r.name, target.0);
                }
            }
        }
    }

    const SAMPLE: &str = "// x: a test recipe
// @param $1 SECONDS=0 stop after SECONDS
// @param $2 TOP=10 how many
// @if go >= 1.21 && func runtime.ready
new
// @else
old
// @end
// @if go < 1.17
// @error too old
// @end
";

    #[test]
    fn regions_follow_the_target() {
        let r = Recipe {
            name: "x",
            source: SAMPLE,
            file: None,
        };
        let new = r.instantiate(&Fake((1, 27), &["runtime.ready"])).unwrap();
        assert!(new.contains("\nnew\n") && !new.contains("old"));
        let old = r.instantiate(&Fake((1, 19), &["runtime.ready"])).unwrap();
        assert!(old.contains("\nold\n") && !old.contains("new"));
        let err = r.instantiate(&Fake((1, 16), &[])).unwrap_err();
        assert!(err.contains("too old"), "{err}");
        assert_eq!(r.doc(), "a test recipe");
    }

    #[test]
    fn defaults_fill_missing_positional_parameters() {
        let r = Recipe {
            name: "x",
            source: SAMPLE,
            file: None,
        };
        assert_eq!(r.positional(&[]), vec!["0", "10"]);
        assert_eq!(r.positional(&["5".into()]), vec!["5", "10"]);
        assert_eq!(r.params()[1].doc, "how many");
    }

    /// A script file gets its defaults like a recipe; one without regions needs no target and
    /// comes back as written; one with regions and no target says which flags to give.
    #[test]
    fn script_files_get_defaults_and_need_a_target_for_regions() {
        let plain = "// @param $1 N=7 how many\nBEGIN { exit(); }\n";
        let (text, positional) = load_file("a.gp", plain, None, None, &[]).unwrap();
        assert_eq!((text.as_str(), positional), (plain, vec!["7".to_string()]));
        let (_, positional) = load_file("a.gp", plain, None, None, &["2".into()]).unwrap();
        assert_eq!(positional, vec!["2"]);
        let err = load_file("x.gp", SAMPLE, None, None, &[]).unwrap_err();
        assert!(err.contains("x.gp has `// @if` regions"), "{err}");
        let file = Recipe {
            name: "x.gp",
            source: SAMPLE,
            file: Some("x.gp"),
        };
        let err = file.instantiate(&Fake((1, 16), &[])).unwrap_err();
        assert!(err.starts_with("`x.gp` cannot trace"), "{err}");
    }
}
