//! Any bytes → diagnostics or a compiled program, never a panic or a hang: parse, check against
//! the case files' environment, lower, allocate registers, emit and write the ELF object, and
//! render whatever diagnostics came out.
#![no_main]

use gprobe_compiler::CompileOptions;
use libfuzzer_sys::fuzz_target;

#[path = "../../compiler/tests/support/case_env.rs"]
mod case_env;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let mut options = CompileOptions::default();
    options.check = case_env::options_for(&source);
    if options.check.positional.is_empty() {
        options.check.positional = vec!["1".into(), "x".into()];
    }
    options.dump_ir = true;
    options.dump_bpf = true;
    match gprobe_compiler::compile(&source, &case_env::CaseEnv, &options) {
        Ok(out) => {
            assert!(!out.object.is_empty(), "a compiled program has an object");
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty(), "a failed compile must say why");
            let _ = gprobe_compiler::diag::render(&diagnostics, "<fuzz>", &source, false);
        }
    }
});
