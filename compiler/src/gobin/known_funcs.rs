//! Built-in signatures of well-known functions for binaries without DWARF (`-ldflags=-w`, or
//! stripped), keyed by Go release where they changed. Every entry is checked against the DWARF of
//! real binaries built with each toolchain of the test matrix (`compiler/tests/gobin.rs`).

use super::dwarf::GoParam;
use super::types::GoType;

fn int(bits: u8, signed: bool) -> GoType {
    GoType::Int { bits, signed }
}

fn ptr(name: &str) -> GoType {
    GoType::Ptr(Box::new(GoType::Named {
        name: name.into(),
        size: 0,
    }))
}

fn iface(name: &str) -> GoType {
    GoType::Interface {
        name: name.into(),
        empty: false,
    }
}

fn any_slice() -> GoType {
    GoType::Slice(Box::new(GoType::Interface {
        name: "interface {}".into(),
        empty: true,
    }))
}

fn p(name: &str, ty: GoType) -> GoParam {
    GoParam {
        name: name.into(),
        ty,
        is_result: false,
        location: None,
    }
}

fn r(name: &str, ty: GoType) -> GoParam {
    GoParam {
        is_result: true,
        ..p(name, ty)
    }
}

/// Parameters then results (without ABI locations) of `function` in a binary of Go `release`.
pub fn signature(function: &str, (major, minor): (u32, u32)) -> Option<Vec<GoParam>> {
    let minor = if major > 1 { u32::MAX } else { minor };
    let u64t = int(64, false);
    let i64t = int(64, true);
    let bool_t = GoType::Bool;
    Some(match function {
        "net/http.serverHandler.ServeHTTP" => vec![
            // serverHandler is struct { srv *Server }: one pointer register.
            p("sh", ptr("net/http.Server")),
            p("rw", iface("net/http.ResponseWriter")),
            p("req", ptr("net/http.Request")),
        ],
        "net/http.(*response).WriteHeader" => {
            vec![p("w", ptr("net/http.response")), p("code", i64t)]
        }
        "net/http.(*response).finishRequest" => vec![p("w", ptr("net/http.response"))],
        // HTTP/2's ResponseWriter: bundled into net/http up to Go 1.26, its own package from 1.27.
        "net/http.(*http2responseWriter).WriteHeader" => {
            vec![p("w", ptr("net/http.http2responseWriter")), p("code", i64t)]
        }
        "net/http/internal/http2.(*responseWriter).WriteHeader" => vec![
            p("w", ptr("net/http/internal/http2.responseWriter")),
            p("code", i64t),
        ],
        // Where both HTTP/2 paths (explicit WriteHeader, implicit 200 on the first Write) end up.
        "net/http.(*http2responseWriterState).writeHeader" => vec![
            p("rws", ptr("net/http.http2responseWriterState")),
            p("code", i64t),
        ],
        "net/http/internal/http2.(*responseWriterState).writeHeader" => vec![
            p("rws", ptr("net/http/internal/http2.responseWriterState")),
            p("code", i64t),
        ],
        "net/http.(*Transport).roundTrip" => vec![
            p("t", ptr("net/http.Transport")),
            p("req", ptr("net/http.Request")),
            r("~r0", ptr("net/http.Response")),
            r(if minor >= 23 { "err" } else { "~r1" }, iface("error")),
        ],
        // database/sql (the sql recipe): the two funnels every DB, Tx and Conn statement goes
        // through, the prepared statement's own entry points, where a query's rows are handed
        // out, and the connection releases that end a statement with its error. The same from
        // Go 1.19 to 1.27.
        "database/sql.(*DB).execDC" => vec![
            p("db", ptr("database/sql.DB")),
            p("ctx", iface("context.Context")),
            p("dc", ptr("database/sql.driverConn")),
            p("release", GoType::Func("func(error)".into())),
            p("query", GoType::String),
            p("args", any_slice()),
            r("res", iface("database/sql.Result")),
            r("err", iface("error")),
        ],
        "database/sql.(*DB).queryDC" => vec![
            p("db", ptr("database/sql.DB")),
            p("ctx", iface("context.Context")),
            p("txctx", iface("context.Context")),
            p("dc", ptr("database/sql.driverConn")),
            p("releaseConn", GoType::Func("func(error)".into())),
            p("query", GoType::String),
            p("args", any_slice()),
            r("~r0", ptr("database/sql.Rows")),
            r("~r1", iface("error")),
        ],
        "database/sql.(*Stmt).ExecContext" => vec![
            p("s", ptr("database/sql.Stmt")),
            p("ctx", iface("context.Context")),
            p("args", any_slice()),
            r("~r0", iface("database/sql.Result")),
            r("~r1", iface("error")),
        ],
        "database/sql.(*Stmt).QueryContext" => vec![
            p("s", ptr("database/sql.Stmt")),
            p("ctx", iface("context.Context")),
            p("args", any_slice()),
            r("~r0", ptr("database/sql.Rows")),
            r("~r1", iface("error")),
        ],
        "database/sql.(*Rows).initContextClose" => vec![
            p("rs", ptr("database/sql.Rows")),
            p("ctx", iface("context.Context")),
            p("txctx", iface("context.Context")),
        ],
        "database/sql.Open" => vec![
            p("driverName", GoType::String),
            p("dataSourceName", GoType::String),
            r("~r0", ptr("database/sql.DB")),
            r("~r1", iface("error")),
        ],
        // Method values' wrappers (`dc.releaseConn` passed as a `func(error)`): the method's
        // parameters without the receiver (the closure context rides in DX). Go 1.19's DWARF
        // lists none for them, so these entries serve binaries with DWARF too.
        "database/sql.(*driverConn).releaseConn-fm" => vec![p("err", iface("error"))],
        "database/sql.(*Tx).closemuRUnlockRelease-fm" => vec![p("~p0", iface("error"))],
        "database/sql.(*Conn).closemuRUnlockCondReleaseConn-fm" => {
            vec![p("err", iface("error"))]
        }
        "runtime.gopark" => vec![
            p(
                "unlockf",
                GoType::Func("func(*runtime.g, unsafe.Pointer) bool".into()),
            ),
            p("lock", GoType::UnsafePointer),
            p("reason", int(8, false)),
            p(
                if minor >= 21 {
                    "traceReason"
                } else {
                    "traceEv"
                },
                int(8, false),
            ),
            p("traceskip", i64t),
        ],
        "runtime.casgstatus" => vec![
            p("gp", ptr("runtime.g")),
            p("oldval", int(32, false)),
            p("newval", int(32, false)),
        ],
        "runtime.ready" => vec![
            p("gp", ptr("runtime.g")),
            p("traceskip", i64t),
            p("next", bool_t),
        ],
        "runtime.execute" => vec![p("gp", ptr("runtime.g")), p("inheritTime", bool_t)],
        "runtime.newproc1" => {
            let mut v = vec![
                p("fn", ptr("runtime.funcval")),
                p("callergp", ptr("runtime.g")),
                p("callerpc", u64t),
            ];
            if minor >= 23 {
                v.push(p("parked", bool_t));
                v.push(p("waitreason", int(8, false)));
            }
            v.push(r("~r0", ptr("runtime.g")));
            v
        }
        "runtime.mallocgc" => vec![
            p("size", u64t),
            p(
                "typ",
                ptr(if minor >= 21 {
                    "internal/abi.Type"
                } else {
                    "runtime._type"
                }),
            ),
            p("needzero", bool_t),
            r("~r0", GoType::UnsafePointer),
        ],
        "runtime.gcStart" => vec![p(
            "trigger",
            GoType::Struct(super::types::GoStruct {
                name: "runtime.gcTrigger".into(),
                size: 24,
                fields: vec![
                    super::types::GoField {
                        name: "kind".into(),
                        offset: 0,
                        ty: i64t.clone(),
                    },
                    super::types::GoField {
                        name: "now".into(),
                        offset: 8,
                        ty: i64t.clone(),
                    },
                    super::types::GoField {
                        name: "n".into(),
                        offset: 16,
                        ty: int(32, false),
                    },
                ],
            }),
        )],
        "runtime.entersyscall" | "runtime.exitsyscall" | "runtime.gcMarkDone" => vec![],
        _ => return None,
    })
}

/// Names of the functions [`signature`] knows.
pub const KNOWN: &[&str] = &[
    "net/http.serverHandler.ServeHTTP",
    "net/http.(*response).WriteHeader",
    "net/http.(*response).finishRequest",
    "net/http.(*http2responseWriter).WriteHeader",
    "net/http/internal/http2.(*responseWriter).WriteHeader",
    "net/http.(*http2responseWriterState).writeHeader",
    "net/http/internal/http2.(*responseWriterState).writeHeader",
    "net/http.(*Transport).roundTrip",
    "database/sql.(*DB).execDC",
    "database/sql.(*DB).queryDC",
    "database/sql.(*Stmt).ExecContext",
    "database/sql.(*Stmt).QueryContext",
    "database/sql.(*Rows).initContextClose",
    "database/sql.Open",
    "database/sql.(*driverConn).releaseConn-fm",
    "database/sql.(*Tx).closemuRUnlockRelease-fm",
    "database/sql.(*Conn).closemuRUnlockCondReleaseConn-fm",
    "runtime.gopark",
    "runtime.casgstatus",
    "runtime.ready",
    "runtime.execute",
    "runtime.newproc1",
    "runtime.mallocgc",
    "runtime.gcStart",
    "runtime.entersyscall",
    "runtime.exitsyscall",
    "runtime.gcMarkDone",
];
