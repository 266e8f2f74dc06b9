//! `cargo run -p gprobe-compiler --example compile_dump -- 'PROGRAM' [out.o]`: prints the IR and
//! the eBPF of a program and optionally writes the object (a development aid until the CLI has
//! `-d ir`/`-d bpf`/`--emit obj`).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(source) = args.get(1) else {
        eprintln!("usage: compile_dump PROGRAM [out.o]");
        std::process::exit(2);
    };
    let options = gprobe_compiler::CompileOptions {
        dump_ir: true,
        dump_bpf: true,
        ..Default::default()
    };
    match gprobe_compiler::compile(source, &gprobe_compiler::NoEnv, &options) {
        Ok(out) => {
            print!("{}", out.ir.unwrap_or_default());
            print!("{}", out.bpf.unwrap_or_default());
            if let Some(path) = args.get(2) {
                std::fs::write(path, &out.object).expect("write object");
                std::fs::write(
                    format!("{path}.manifest.json"),
                    serde_json::to_string_pretty(&out.manifest).unwrap(),
                )
                .expect("write manifest");
            }
        }
        Err(diags) => {
            eprint!(
                "{}",
                gprobe_compiler::diag::render(&diags, "program", source, false)
            );
            std::process::exit(1);
        }
    }
}
