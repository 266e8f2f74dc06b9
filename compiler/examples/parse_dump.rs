fn main() {
    let path = std::env::args().nth(1).unwrap();
    let src = std::fs::read_to_string(&path).unwrap();
    let opts = gprobe_compiler::Options {
        positional: vec!["42".into(), "hello".into()],
        has_target: false,
    };
    match gprobe_compiler::front_end(&src, &gprobe_compiler::NoEnv, &opts) {
        Ok((p, _)) => print!("{}", gprobe_compiler::dump::ast(&p, &src)),
        Err(d) => print!("{}", gprobe_compiler::diag::render(&d, &path, &src, false)),
    }
}
