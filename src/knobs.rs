//! bpftrace's environment knobs that change what gprobe does, under either name:
//! `BPFTRACE_MAP_KEYS_MAX` or `GPROBE_MAP_KEYS_MAX` (the `GPROBE_` name wins when both are set).
//! A flag on the command line (`--map-keys-max`) wins over either.

/// The knobs set in the environment.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Knobs {
    /// `MAP_KEYS_MAX`: most entries a map holds.
    pub map_keys_max: Option<u32>,
    /// `STRLEN`: the size of `str()` without a size argument.
    pub strlen: Option<u32>,
    /// `MAX_PROBES`: most probes a program may attach.
    pub max_probes: Option<usize>,
}

impl Knobs {
    pub fn from_env() -> Result<Knobs, String> {
        Knobs::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Knobs, String> {
        let knob = |name: &str, max: u64| -> Result<Option<u64>, String> {
            let Some((var, text)) = ["GPROBE_", "BPFTRACE_"]
                .iter()
                .map(|prefix| format!("{prefix}{name}"))
                .find_map(|var| get(&var).map(|v| (var, v)))
            else {
                return Ok(None);
            };
            match text.trim().parse::<u64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
                _ => Err(format!("{var}={text}: expected a number from 1 to {max}")),
            }
        };
        Ok(Knobs {
            map_keys_max: knob("MAP_KEYS_MAX", u64::from(u32::MAX))?.map(|n| n as u32),
            strlen: knob("STRLEN", u64::from(gprobe_compiler::builtins::MAX_STR_SIZE))?
                .map(|n| n as u32),
            max_probes: knob("MAX_PROBES", 1 << 20)?.map(|n| n as usize),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_prefix_and_bad_values() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let k = Knobs::from_lookup(env(&[
            ("BPFTRACE_MAP_KEYS_MAX", "10"),
            ("GPROBE_STRLEN", "32"),
        ]))
        .unwrap();
        assert_eq!(k.map_keys_max, Some(10));
        assert_eq!(k.strlen, Some(32));
        let both = Knobs::from_lookup(env(&[
            ("BPFTRACE_MAP_KEYS_MAX", "10"),
            ("GPROBE_MAP_KEYS_MAX", "20"),
        ]))
        .unwrap();
        assert_eq!(both.map_keys_max, Some(20));
        let bad = Knobs::from_lookup(env(&[("BPFTRACE_STRLEN", "1000")])).unwrap_err();
        assert!(bad.contains("BPFTRACE_STRLEN=1000"), "{bad}");
    }
}
