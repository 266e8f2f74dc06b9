//! `-l 'uprobe:./prog:*'` for ELF files that are not Go (C programs, shared libraries): their
//! function symbols, as bpftrace lists them; with `-v` each followed by its C parameters from
//! DWARF (`    int x`), when the binary was built with `-g`.

use gprobe_compiler::native::NativeElf;

/// The listing of the functions of `elf` (shown as `binary`) matching `glob`.
pub fn listing(elf: &NativeElf, binary: &str, glob: &str, verbose: bool) -> String {
    let mut out = String::new();
    let dwarf = verbose && elf.has_dwarf();
    for sym in elf.symbols() {
        if !gprobe_compiler::names::glob_match(glob, &sym.name) {
            continue;
        }
        out.push_str(&format!("uprobe:{binary}:{}\n", sym.name));
        if !dwarf {
            continue;
        }
        if let Ok(f) = elf.function(&sym.name) {
            for p in f.params {
                out.push_str(&format!("    {} {}\n", p.c_type, p.name));
            }
        }
    }
    out
}
