//! Wall-clock text for `time()` and `strftime()`: strftime(3) in the local time zone, plus `%f`
//! for the microseconds (as bpftrace has it).

use std::ffi::CString;

/// `unix_ns` (ns since the Unix epoch) formatted with `format` in the local time zone. `%f` is
/// the microseconds within the second, 6 digits; `%%` stays a literal `%`.
pub fn format_unix_ns(format: &str, unix_ns: u64) -> String {
    let secs = (unix_ns / 1_000_000_000) as libc::time_t;
    let micros = (unix_ns % 1_000_000_000) / 1_000;
    strftime(&expand_micros(format, micros), secs)
}

/// The local wall clock now, formatted like [`format_unix_ns`].
pub fn format_now(format: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format_unix_ns(format, now)
}

/// Replaces each `%f` (not `%%f`) with `micros`, zero-padded to 6 digits.
fn expand_micros(format: &str, micros: u64) -> String {
    let mut out = String::with_capacity(format.len());
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => out.push_str(&format!("{micros:06}")),
            Some(next) => {
                out.push('%');
                out.push(next);
            }
            None => out.push('%'),
        }
    }
    out
}

fn strftime(format: &str, secs: libc::time_t) -> String {
    if format.is_empty() {
        return String::new();
    }
    let Ok(c_format) = CString::new(format) else {
        return String::new();
    };
    // SAFETY: plain C calls on valid pointers; `tm` is fully written by localtime_r.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return String::new();
    }
    // strftime returns 0 both for "too small" and for an empty result: grow a few times.
    for capacity in [256usize, 4096, 65536] {
        let mut buf = vec![0u8; capacity];
        // SAFETY: strftime writes at most `capacity` bytes into `buf`.
        let n =
            unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c_format.as_ptr(), &tm) };
        if n > 0 {
            buf.truncate(n);
            return String::from_utf8_lossy(&buf).into_owned();
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_and_literal_percent() {
        assert_eq!(expand_micros("%H.%f %%f %", 42), "%H.000042 %%f %");
        // 1.5 s after the epoch: the seconds field and the microseconds.
        let t = 1_500_000_000;
        assert_eq!(format_unix_ns("%S.%f", t), "01.500000");
        assert_eq!(format_unix_ns("%%", t), "%");
        assert_eq!(format_unix_ns("", t), "");
    }

    #[test]
    fn years_follow_the_epoch() {
        // 2001-09-09T01:46:40Z; the year is the same in every time zone.
        assert_eq!(format_unix_ns("%Y", 1_000_000_000 * 1_000_000_000), "2001");
    }
}
