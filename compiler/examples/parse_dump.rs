fn main() {
    let path = std::env::args().nth(1).unwrap();
    let src = std::fs::read_to_string(&path).unwrap();
    match gprobe_compiler::syntax::parse(&src) {
        Ok(p) => print!("{}", gprobe_compiler::dump::ast(&p, &src)),
        Err(d) => print!("{}", gprobe_compiler::diag::render(&d, &path, &src, false)),
    }
}
