//! Facts from this machine that the checker asks for: tracepoint formats from tracefs (the
//! runtime mounts it when missing). Go signatures come from the target binary.

use gprobe_compiler::check::{Env, GoFunction, tracefs};
use gprobe_compiler::types::Field;

pub struct SystemEnv;

impl Env for SystemEnv {
    fn tracepoint_fields(&self, category: &str, name: &str) -> Result<Vec<Field>, String> {
        if category.contains(['/', '.']) || name.contains(['/', '.']) {
            return Err("tracepoint names cannot contain `/` or `.`".into());
        }
        let text = gprobe_runtime::format_text(category, name).map_err(|e| e.to_string())?;
        tracefs::parse_format(&text).map_err(|e| format!("{category}:{name} format: {e}"))
    }

    fn go_function(&self, _binary: Option<&str>, function: &str) -> Result<GoFunction, String> {
        Err(format!(
            "reading Go signatures from binaries is not implemented yet (`{function}`)"
        ))
    }
}
