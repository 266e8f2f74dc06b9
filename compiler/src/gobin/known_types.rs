//! Built-in struct layouts for stripped binaries (no DWARF), keyed by Go release. Only the fields
//! probes commonly read; every offset comes from the verified table in the runtime facts and is
//! re-checked against DWARF by the tests in `compiler/tests/gobin.rs`.

use super::offsets::RuntimeOffsets;
use super::types::{GoField, GoStruct, GoType};

fn field(name: &str, offset: u64, ty: GoType) -> GoField {
    GoField {
        name: name.into(),
        offset,
        ty,
    }
}

fn named_ptr(name: &str) -> GoType {
    GoType::Ptr(Box::new(GoType::Named {
        name: name.into(),
        size: 0,
    }))
}

/// A partial layout (only the listed fields; `size` 0 = unknown) of a well-known struct.
pub fn struct_type(name: &str, release: (u32, u32)) -> Option<GoStruct> {
    let o = RuntimeOffsets::table(release);
    let int = GoType::Int {
        bits: 64,
        signed: true,
    };
    let u64t = GoType::Int {
        bits: 64,
        signed: false,
    };
    let fields = match name {
        "runtime.g" => {
            let mut f = vec![
                field(
                    "stack",
                    0,
                    GoType::Opaque {
                        name: "runtime.stack".into(),
                        size: 16,
                    },
                ),
                field("stackguard0", 16, u64t.clone()),
                field("m", o.g_m, named_ptr("runtime.m")),
                field(
                    "sched",
                    o.g_sched,
                    GoType::Named {
                        name: "runtime.gobuf".into(),
                        size: 0,
                    },
                ),
                field(
                    "atomicstatus",
                    o.g_atomicstatus,
                    GoType::Int {
                        bits: 32,
                        signed: false,
                    },
                ),
                field("goid", o.g_goid, u64t.clone()),
            ];
            if let Some(p) = o.g_parent_goid {
                f.push(field("parentGoid", p, u64t.clone()));
            }
            if let Some(p) = o.g_gopc {
                f.push(field("gopc", p, u64t.clone()));
            }
            f
        }
        "runtime.m" => vec![
            field("g0", 0, named_ptr("runtime.g")),
            field("procid", o.m_procid, u64t.clone()),
            field("curg", o.m_curg, named_ptr("runtime.g")),
        ],
        "runtime.gobuf" => vec![
            field("sp", o.gobuf_sp, u64t.clone()),
            field("pc", o.gobuf_pc, u64t.clone()),
            field("bp", o.gobuf_bp, u64t),
        ],
        "net/http.Request" => {
            let mut f = vec![
                field("Method", 0, GoType::String),
                field("URL", 16, named_ptr("net/url.URL")),
                field("Proto", 24, GoType::String),
                field("Header", 56, GoType::Map("net/http.Header".into())),
                field("ContentLength", 88, int),
                field("Host", 128, GoType::String),
                field("RemoteAddr", 176, GoType::String),
                field("RequestURI", 192, GoType::String),
                field(
                    "ctx",
                    o.request_ctx,
                    GoType::Interface {
                        name: "context.Context".into(),
                        empty: false,
                    },
                ),
            ];
            // The ServeMux pattern that matched (Go 1.23+); 232 through 1.27.
            if release >= (1, 23) {
                f.push(field("Pattern", 232, GoType::String));
            }
            f
        }
        "net/url.URL" => vec![
            field("Scheme", 0, GoType::String),
            field("Host", 40, GoType::String),
            field("Path", 56, GoType::String),
            field("RawQuery", o.url_raw_query, GoType::String),
        ],
        "net/http.Response" => vec![
            field("Status", 0, GoType::String),
            field("StatusCode", 16, int),
        ],
        // The prepared statement's text (the sql recipe); `db *DB` comes first in 1.19..1.27.
        "database/sql.Stmt" => vec![field("query", 8, GoType::String)],
        // After db, createdAt (time.Time, 24 bytes) and the embedded sync.Mutex.
        "database/sql.driverConn" => vec![field(
            "ci",
            40,
            GoType::Interface {
                name: "database/sql/driver.Conn".into(),
                empty: false,
            },
        )],
        "net/http.response" => vec![
            field("req", 8, named_ptr("net/http.Request")),
            field("status", o.response_status, int),
        ],
        _ => return None,
    };
    Some(GoStruct {
        name: name.to_owned(),
        size: 0,
        fields,
    })
}
