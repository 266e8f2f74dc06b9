//! A pure parser of tracefs `format` files (`/sys/kernel/tracing/events/CAT/NAME/format`) into
//! the fields `args` exposes. Reading the file is the caller's job.

use crate::types::{AddrSpace, Field, IntType, Type};

/// The non-common fields of a tracepoint format, in order. Lines that are not `field:` lines
/// are skipped; `common_*` fields are hidden like bpftrace does.
pub fn parse_format(text: &str) -> Result<Vec<Field>, String> {
    let mut fields = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("field:") else {
            continue;
        };
        let mut decl = None;
        let mut offset = None;
        let mut size = None;
        let mut signed = false;
        for (i, item) in rest
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            if i == 0 {
                decl = Some(item);
            } else if let Some(v) = item.strip_prefix("offset:") {
                offset = v.trim().parse::<u64>().ok();
            } else if let Some(v) = item.strip_prefix("size:") {
                size = v.trim().parse::<u64>().ok();
            } else if let Some(v) = item.strip_prefix("signed:") {
                signed = v.trim() == "1";
            }
        }
        let (Some(decl), Some(offset), Some(size)) = (decl, offset, size) else {
            return Err(format!("malformed format line: `{line}`"));
        };
        let (name, ty) = declaration(decl, size, signed);
        if name.starts_with("common_") {
            continue;
        }
        fields.push(Field { name, offset, ty });
    }
    if fields.is_empty() && !text.contains("field:") {
        return Err("no `field:` lines in the format file".into());
    }
    Ok(fields)
}

/// `const char * filename` → (`filename`, pointer to i8); `char comm[16]` → string[16].
fn declaration(decl: &str, size: u64, signed: bool) -> (String, Type) {
    let data_loc = decl.starts_with("__data_loc");
    // `char comm[16]` and `__data_loc char[] name`: drop the brackets, keep the words.
    let array = decl.contains('[');
    let mut plain = String::with_capacity(decl.len());
    let mut in_brackets = false;
    for c in decl.chars() {
        match c {
            '[' => in_brackets = true,
            ']' => {
                in_brackets = false;
                plain.push(' ');
            }
            c if !in_brackets => plain.push(c),
            _ => {}
        }
    }
    let decl = plain.trim_end();
    let name = decl
        .rsplit(|c: char| c.is_whitespace() || c == '*')
        .next()
        .unwrap_or("")
        .to_string();
    let base = decl[..decl.len() - name.len()].trim();
    let pointer = base.ends_with('*');
    let is_char = base.split_whitespace().any(|w| w == "char");
    let ty = if data_loc {
        // A (length << 16 | offset) descriptor of a dynamic array in the record.
        Type::Int(IntType {
            bits: 32,
            signed: false,
        })
    } else if pointer && let Some(tag) = struct_tag(base) {
        // `struct __kernel_timespec * rqtp`: the checker resolves the struct from BTF when
        // `->` reads through it.
        Type::Ptr(Box::new(Type::Named(tag)), AddrSpace::Default)
    } else if pointer {
        let pointee = if is_char {
            IntType {
                bits: 8,
                signed: true,
            }
        } else {
            IntType {
                bits: 8,
                signed: false,
            }
        };
        Type::Ptr(Box::new(Type::Int(pointee)), AddrSpace::Default)
    } else if array && is_char {
        Type::Str { size: size as u32 }
    } else if array || !matches!(size, 1 | 2 | 4 | 8) {
        Type::Buf { size: size as u32 }
    } else {
        Type::Int(IntType {
            bits: (size * 8) as u8,
            signed,
        })
    };
    (name, ty)
}

/// `struct NAME`/`union NAME` of a single-pointer declaration's base (`const struct sk_buff *`).
fn struct_tag(base: &str) -> Option<String> {
    if base.matches('*').count() != 1 {
        return None;
    }
    let words: Vec<&str> = base
        .split(|c: char| c.is_whitespace() || c == '*')
        .filter(|w| !w.is_empty() && !matches!(*w, "const" | "volatile" | "__user"))
        .collect();
    match words.as_slice() {
        [kind @ ("struct" | "union"), name] => Some(format!("{kind} {name}")),
        _ => None,
    }
}

/// Bytes a field type occupies in a record.
pub fn size_of(ty: &Type) -> u64 {
    match ty {
        Type::Int(i) => u64::from(i.bits / 8),
        Type::Str { size } | Type::Buf { size } => u64::from(*size),
        Type::Ptr(..) => 8,
        Type::Struct(s) => s.size,
        _ => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAT: &str = "name: sys_enter_openat
ID: 720
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;
\tfield:char comm[16];\toffset:48;\tsize:16;\tsigned:0;
\tfield:__data_loc char[] name;\toffset:64;\tsize:4;\tsigned:0;

print fmt: \"dfd: 0x%08lx\", ((unsigned long)(REC->dfd))
";

    #[test]
    fn parses_openat() {
        let fields = parse_format(OPENAT).unwrap();
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "__syscall_nr",
                "dfd",
                "filename",
                "flags",
                "mode",
                "comm",
                "name"
            ]
        );
        assert_eq!(
            fields[0].ty,
            Type::Int(IntType {
                bits: 32,
                signed: true
            })
        );
        assert_eq!(fields[2].offset, 24);
        assert_eq!(
            fields[2].ty,
            Type::Ptr(
                Box::new(Type::Int(IntType {
                    bits: 8,
                    signed: true
                })),
                AddrSpace::Default
            )
        );
        assert_eq!(fields[5].ty, Type::Str { size: 16 });
        assert_eq!(fields[6].ty, Type::Int(IntType::U32));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_format("hello").is_err());
        assert!(parse_format("field:int x; offset:zz;").is_err());
    }
}
