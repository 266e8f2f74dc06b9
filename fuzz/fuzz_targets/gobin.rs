//! Mutated Go binaries (seeds: small real Go builds) → a `GoBinary` or an error, never a panic
//! or a hang, through every lazily decoded part: pclntab functions, symbolization, ELF symbols,
//! DWARF parameters and structs, RET offsets and the entry-probe offset.
#![no_main]

use gprobe_compiler::gobin::GoBinary;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(binary) = GoBinary::parse(data.to_vec()) else {
        return;
    };
    let _ = binary.arch();
    let _ = binary.is_pie();
    let _ = binary.is_cgo();
    let _ = binary.go_version();
    let _ = binary.go_release();
    let _ = binary.symbols().len();
    let _ = binary.has_dwarf();
    let _ = binary.go_struct("runtime.g");
    let _ = binary.struct_type("runtime.g");
    let Ok(functions) = binary.try_functions() else {
        return;
    };
    // A few functions from each end of the table, by name and by pc.
    let picks: Vec<_> = functions
        .iter()
        .take(8)
        .chain(functions.iter().rev().take(8))
        .cloned()
        .collect();
    for f in &picks {
        let _ = binary.function(&f.name);
        let _ = binary.symbolize(f.entry);
        let _ = binary.function_at(f.entry);
        let _ = binary.function_code(f);
        let _ = binary.ret_offsets(f);
        let _ = binary.entry_probe_offset(f);
        let _ = binary.params(&f.name);
        let _ = binary.vaddr_to_file_offset(f.entry);
    }
    for name in ["main.main", "main.work", "runtime.main"] {
        if let Some(f) = binary.function(name).cloned() {
            let _ = binary.ret_offsets(&f);
            let _ = binary.entry_probe_offset(&f);
            let _ = binary.params(name);
        }
    }
    let _ = binary.functions_matching("main.*");
});
