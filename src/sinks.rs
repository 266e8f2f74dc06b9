//! Builds the session's output from the command line: text or JSON lines on stdout or `-o FILE`,
//! plus any exporters asked for.

use clap::ValueEnum;
use gprobe_runtime::{JsonSink, Sink, Tee, TextSink};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub format: Format,
    /// `-o FILE`: trace output goes there instead of stdout.
    pub output: Option<PathBuf>,
}

/// Every sink the options ask for, fed in order; errors are messages for the user.
pub fn build(options: &Options) -> Result<Tee, String> {
    let out: Box<dyn Write> = match &options.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::stdout()),
    };
    let main: Box<dyn Sink> = match options.format {
        Format::Text => Box::new(TextSink::new(out)),
        Format::Json => Box::new(JsonSink::new(out)),
    };
    Ok(Tee { sinks: vec![main] })
}
