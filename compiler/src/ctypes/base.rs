//! C base types (`unsigned long`, `_Bool`) and the typedef names bpftrace programs use without
//! defining them (`u32`, `uint64_t`, `size_t`, `pid_t`), as x86-64 Linux sizes them.

use super::CType;
use crate::types::IntType;

fn int(bits: u8, signed: bool) -> CType {
    CType::Int {
        int: IntType { bits, signed },
        char: false,
    }
}

/// The type a list of base words names (`unsigned long long int`), or why it names none.
pub fn from_words(words: &[String]) -> Result<CType, String> {
    let count = |w: &str| words.iter().filter(|x| *x == w).count();
    let (unsigned, signed) = (count("unsigned"), count("signed"));
    let (char, short, int_, long) = (count("char"), count("short"), count("int"), count("long"));
    let (float, double, void) = (count("float"), count("double"), count("void"));
    let boolean = count("_Bool") + count("bool");
    let bad = || Err(format!("`{}` is not a C type", words.join(" ")));
    if unsigned + signed > 1 || int_ > 1 || long > 2 || short > 1 || char > 1 {
        return bad();
    }
    let sign_words = unsigned + signed;
    let others = char + short + int_ + long + float + double + void + boolean;
    if void == 1 {
        return if others == 1 && sign_words == 0 {
            Ok(CType::Void)
        } else {
            bad()
        };
    }
    if boolean == 1 {
        return if others == 1 && sign_words == 0 {
            Ok(CType::Bool)
        } else {
            bad()
        };
    }
    if float == 1 {
        return if others == 1 && sign_words == 0 {
            Ok(CType::Float(4))
        } else {
            bad()
        };
    }
    if double == 1 {
        return match (others, long, sign_words) {
            (1, 0, 0) => Ok(CType::Float(8)),
            (2, 1, 0) => Ok(CType::Float(16)),
            _ => bad(),
        };
    }
    let is_signed = unsigned == 0;
    if char == 1 {
        return if others == 1 {
            Ok(CType::Int {
                int: IntType {
                    bits: 8,
                    signed: is_signed,
                },
                // Only plain `char` arrays are strings, as bpftrace (clang's Char_S) has it.
                char: sign_words == 0,
            })
        } else {
            bad()
        };
    }
    if short == 1 {
        return if long == 0 {
            Ok(int(16, is_signed))
        } else {
            bad()
        };
    }
    if long > 0 {
        return Ok(int(64, is_signed));
    }
    Ok(int(32, is_signed))
}

/// Typedef names known without a definition.
pub const TYPEDEFS: &[(&str, u8, bool)] = &[
    ("u8", 8, false),
    ("u16", 16, false),
    ("u32", 32, false),
    ("u64", 64, false),
    ("s8", 8, true),
    ("s16", 16, true),
    ("s32", 32, true),
    ("s64", 64, true),
    ("i8", 8, true),
    ("i16", 16, true),
    ("i32", 32, true),
    ("i64", 64, true),
    ("uint8", 8, false),
    ("uint16", 16, false),
    ("uint32", 32, false),
    ("uint64", 64, false),
    ("int8", 8, true),
    ("int16", 16, true),
    ("int32", 32, true),
    ("int64", 64, true),
    ("__u8", 8, false),
    ("__u16", 16, false),
    ("__u32", 32, false),
    ("__u64", 64, false),
    ("__s8", 8, true),
    ("__s16", 16, true),
    ("__s32", 32, true),
    ("__s64", 64, true),
    ("uint8_t", 8, false),
    ("uint16_t", 16, false),
    ("uint32_t", 32, false),
    ("uint64_t", 64, false),
    ("int8_t", 8, true),
    ("int16_t", 16, true),
    ("int32_t", 32, true),
    ("int64_t", 64, true),
    ("u_int8_t", 8, false),
    ("u_int16_t", 16, false),
    ("u_int32_t", 32, false),
    ("u_int64_t", 64, false),
    ("__be16", 16, false),
    ("__be32", 32, false),
    ("__be64", 64, false),
    ("__le16", 16, false),
    ("__le32", 32, false),
    ("__le64", 64, false),
    ("size_t", 64, false),
    ("ssize_t", 64, true),
    ("uintptr_t", 64, false),
    ("intptr_t", 64, true),
    ("ptrdiff_t", 64, true),
    ("off_t", 64, true),
    ("loff_t", 64, true),
    ("time_t", 64, true),
    ("sector_t", 64, false),
    ("pid_t", 32, true),
    ("uid_t", 32, false),
    ("gid_t", 32, false),
    ("kuid_t", 32, false),
    ("kgid_t", 32, false),
    ("mode_t", 32, false),
    ("umode_t", 16, false),
    ("gfp_t", 32, false),
    ("clockid_t", 32, true),
    ("key_t", 32, true),
    ("socklen_t", 32, false),
    ("sa_family_t", 16, false),
    ("in_port_t", 16, false),
    ("in_addr_t", 32, false),
];

/// A well-known typedef by name.
pub fn typedef(name: &str) -> Option<CType> {
    TYPEDEFS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|&(_, bits, signed)| int(bits, signed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Result<CType, String> {
        from_words(&text.split(' ').map(str::to_string).collect::<Vec<_>>())
    }

    #[test]
    fn base_words_in_any_order() {
        assert_eq!(words("long unsigned long int"), Ok(int(64, false)));
        assert_eq!(words("short signed"), Ok(int(16, true)));
        assert_eq!(words("unsigned"), Ok(int(32, false)));
        assert_eq!(words("long double"), Ok(CType::Float(16)));
        assert_eq!(
            words("char"),
            Ok(CType::Int {
                int: IntType {
                    bits: 8,
                    signed: true
                },
                char: true
            })
        );
        // `signed char`/`unsigned char` are numbers, not string characters.
        assert_eq!(
            words("unsigned char"),
            Ok(CType::Int {
                int: IntType {
                    bits: 8,
                    signed: false
                },
                char: false
            })
        );
        assert_eq!(words("_Bool"), Ok(CType::Bool));
        for bad in [
            "unsigned double",
            "short long",
            "long long long",
            "signed unsigned",
            "void int",
        ] {
            assert!(words(bad).is_err(), "{bad}");
        }
        assert_eq!(typedef("pid_t"), Some(int(32, true)));
        assert_eq!(typedef("nope_t"), None);
    }
}
