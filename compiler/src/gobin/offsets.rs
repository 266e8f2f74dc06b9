//! Runtime struct offsets goroutine-aware probes need (g.goid, g.m, m.curg, g.sched, …): from the
//! target's DWARF when present, else from a table keyed by Go release (see the runtime facts;
//! each row verified there by compiling, and re-verified against DWARF by our tests).

use super::GoBinary;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetSource {
    Dwarf,
    Table,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeOffsets {
    pub source: OffsetSource,
    pub g_stack: u64,
    pub g_stackguard0: u64,
    pub g_m: u64,
    pub g_sched: u64,
    pub g_atomicstatus: u64,
    pub g_goid: u64,
    /// Added in Go 1.21.
    pub g_parent_goid: Option<u64>,
    /// The pc of the `go` statement that created the goroutine.
    pub g_gopc: Option<u64>,
    pub m_g0: u64,
    pub m_procid: u64,
    pub m_curg: u64,
    pub gobuf_sp: u64,
    pub gobuf_pc: u64,
    pub gobuf_bp: u64,
    /// net/http.Request.ctx
    pub request_ctx: u64,
    /// net/url.URL.RawQuery
    pub url_raw_query: u64,
    /// net/http.response.status (the server's unexported response)
    pub response_status: u64,
}

impl RuntimeOffsets {
    /// The built-in table for a Go release (amd64/arm64, 64-bit).
    pub fn table((major, minor): (u32, u32)) -> RuntimeOffsets {
        let minor = if major > 1 { u32::MAX } else { minor };
        let go123_124 = matches!(minor, 23 | 24);
        RuntimeOffsets {
            source: OffsetSource::Table,
            g_stack: 0,
            g_stackguard0: 16,
            g_m: 48,
            g_sched: 56,
            g_atomicstatus: if go123_124 { 152 } else { 144 },
            g_goid: if go123_124 { 160 } else { 152 },
            g_parent_goid: match minor {
                ..=20 => None,
                21 | 22 | 25 => Some(272),
                _ => Some(280),
            },
            g_gopc: gopc(minor),
            m_g0: 0,
            m_procid: if minor >= 25 { 64 } else { 72 },
            m_curg: if minor >= 25 { 184 } else { 192 },
            gobuf_sp: 0,
            gobuf_pc: 8,
            gobuf_bp: if minor >= 25 { 40 } else { 48 },
            request_ctx: if minor >= 23 { 248 } else { 232 },
            url_raw_query: if minor >= 26 { 88 } else { 96 },
            response_status: if minor >= 27 { 128 } else { 120 },
        }
    }

    /// DWARF of the binary where it has each struct, else the table for its release.
    pub fn for_binary(bin: &GoBinary) -> RuntimeOffsets {
        let mut o = RuntimeOffsets::table(bin.go_release());
        let Ok(dw) = bin.dwarf() else { return o };
        let Some(g) = dw.struct_type("runtime.g") else {
            return o;
        };
        o.source = OffsetSource::Dwarf;
        let off = |s: &super::GoStruct, name: &str| s.field(name).map(|f| f.offset);
        let set = |slot: &mut u64, v: Option<u64>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut o.g_stack, off(&g, "stack"));
        set(&mut o.g_stackguard0, off(&g, "stackguard0"));
        set(&mut o.g_m, off(&g, "m"));
        set(&mut o.g_sched, off(&g, "sched"));
        set(&mut o.g_atomicstatus, off(&g, "atomicstatus"));
        set(&mut o.g_goid, off(&g, "goid"));
        o.g_parent_goid = off(&g, "parentGoid");
        o.g_gopc = off(&g, "gopc");
        if let Some(m) = dw.struct_type("runtime.m") {
            set(&mut o.m_g0, off(&m, "g0"));
            set(&mut o.m_procid, off(&m, "procid"));
            set(&mut o.m_curg, off(&m, "curg"));
        }
        if let Some(b) = dw.struct_type("runtime.gobuf") {
            set(&mut o.gobuf_sp, off(&b, "sp"));
            set(&mut o.gobuf_pc, off(&b, "pc"));
            set(&mut o.gobuf_bp, off(&b, "bp"));
        }
        if let Some(r) = dw.struct_type("net/http.Request") {
            set(&mut o.request_ctx, off(&r, "ctx"));
        }
        if let Some(u) = dw.struct_type("net/url.URL") {
            set(&mut o.url_raw_query, off(&u, "RawQuery"));
        }
        if let Some(r) = dw.struct_type("net/http.response") {
            set(&mut o.response_status, off(&r, "status"));
        }
        o
    }
}

/// g.gopc by release: verified from DWARF for 1.19 (296), 1.23 (288), 1.25 (280), 1.27 (288);
/// the others assume it follows parentGoid as it does in those.
fn gopc(minor: u32) -> Option<u64> {
    Some(match minor {
        ..=20 => 296,
        21 | 22 | 25 => 280,
        _ => 288,
    })
}
