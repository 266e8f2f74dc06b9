//! The kernel helper functions gprobe calls, by their `bpf_func_id` number.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Helper {
    MapLookupElem = 1,
    MapUpdateElem = 2,
    MapDeleteElem = 3,
    /// The compat read: on x86_64 it dispatches on the address (user or kernel).
    ProbeRead = 4,
    KtimeGetNs = 5,
    GetPrandomU32 = 7,
    GetSmpProcessorId = 8,
    GetCurrentPidTgid = 14,
    GetCurrentUidGid = 15,
    GetCurrentComm = 16,
    GetStackid = 27,
    GetCurrentTask = 35,
    /// The compat string read, dispatching on the address like `ProbeRead`.
    ProbeReadStr = 45,
    ProbeReadUser = 112,
    ProbeReadKernel = 113,
    ProbeReadUserStr = 114,
    ProbeReadKernelStr = 115,
    GetNumaNodeId = 42,
    GetCurrentCgroupId = 80,
    SendSignal = 109,
    RingbufOutput = 130,
    /// The probed function's address in a kprobe/kretprobe (5.15+).
    GetFuncIp = 173,
    /// Copies a stack's return addresses into a buffer (`gocaller`), zero-filling the rest.
    GetStack = 67,
    /// The cookie the link gave this attach point (`probe` of a wildcard's functions).
    GetAttachCookie = 174,
    /// `debugf`: a line into the kernel's trace_pipe (fmt, fmt_size, up to 3 values).
    TracePrintk = 6,
    /// `override(rc)`: the kprobed function returns `rc` (error-injectable functions only).
    OverrideReturn = 58,
    /// `path(p)`: a `struct path *` as a file name (fentry/fexit/iter programs only).
    DPath = 147,
}

impl Helper {
    pub const ALL: [Helper; 27] = [
        Helper::GetNumaNodeId,
        Helper::GetCurrentCgroupId,
        Helper::SendSignal,
        Helper::MapLookupElem,
        Helper::MapUpdateElem,
        Helper::MapDeleteElem,
        Helper::ProbeRead,
        Helper::KtimeGetNs,
        Helper::GetPrandomU32,
        Helper::GetSmpProcessorId,
        Helper::GetCurrentPidTgid,
        Helper::GetCurrentUidGid,
        Helper::GetCurrentComm,
        Helper::GetStackid,
        Helper::GetCurrentTask,
        Helper::ProbeReadStr,
        Helper::ProbeReadUser,
        Helper::ProbeReadKernel,
        Helper::ProbeReadUserStr,
        Helper::ProbeReadKernelStr,
        Helper::RingbufOutput,
        Helper::GetFuncIp,
        Helper::GetStack,
        Helper::GetAttachCookie,
        Helper::TracePrintk,
        Helper::OverrideReturn,
        Helper::DPath,
    ];

    pub fn id(self) -> i32 {
        self as u32 as i32
    }

    pub fn from_id(id: i32) -> Option<Helper> {
        Helper::ALL.into_iter().find(|h| h.id() == id)
    }

    /// The kernel's name, as bpftool prints it.
    pub fn name(self) -> &'static str {
        match self {
            Helper::MapLookupElem => "bpf_map_lookup_elem",
            Helper::MapUpdateElem => "bpf_map_update_elem",
            Helper::MapDeleteElem => "bpf_map_delete_elem",
            Helper::ProbeRead => "bpf_probe_read",
            Helper::KtimeGetNs => "bpf_ktime_get_ns",
            Helper::GetPrandomU32 => "bpf_get_prandom_u32",
            Helper::GetSmpProcessorId => "bpf_get_smp_processor_id",
            Helper::GetCurrentPidTgid => "bpf_get_current_pid_tgid",
            Helper::GetCurrentUidGid => "bpf_get_current_uid_gid",
            Helper::GetCurrentComm => "bpf_get_current_comm",
            Helper::GetStackid => "bpf_get_stackid",
            Helper::GetCurrentTask => "bpf_get_current_task",
            Helper::ProbeReadStr => "bpf_probe_read_str",
            Helper::ProbeReadUser => "bpf_probe_read_user",
            Helper::ProbeReadKernel => "bpf_probe_read_kernel",
            Helper::ProbeReadUserStr => "bpf_probe_read_user_str",
            Helper::ProbeReadKernelStr => "bpf_probe_read_kernel_str",
            Helper::GetNumaNodeId => "bpf_get_numa_node_id",
            Helper::GetCurrentCgroupId => "bpf_get_current_cgroup_id",
            Helper::SendSignal => "bpf_send_signal",
            Helper::RingbufOutput => "bpf_ringbuf_output",
            Helper::GetFuncIp => "bpf_get_func_ip",
            Helper::GetStack => "bpf_get_stack",
            Helper::GetAttachCookie => "bpf_get_attach_cookie",
            Helper::TracePrintk => "bpf_trace_printk",
            Helper::OverrideReturn => "bpf_override_return",
            Helper::DPath => "bpf_d_path",
        }
    }

    /// How many argument registers (r1..) the helper reads.
    pub fn arg_count(self) -> usize {
        match self {
            Helper::KtimeGetNs
            | Helper::GetPrandomU32
            | Helper::GetSmpProcessorId
            | Helper::GetCurrentPidTgid
            | Helper::GetCurrentUidGid
            | Helper::GetCurrentTask
            | Helper::GetNumaNodeId
            | Helper::GetCurrentCgroupId => 0,
            Helper::GetFuncIp | Helper::SendSignal | Helper::GetAttachCookie => 1,
            Helper::MapLookupElem
            | Helper::MapDeleteElem
            | Helper::GetCurrentComm
            | Helper::OverrideReturn => 2,
            Helper::ProbeRead
            | Helper::ProbeReadStr
            | Helper::ProbeReadUser
            | Helper::ProbeReadKernel
            | Helper::ProbeReadUserStr
            | Helper::ProbeReadKernelStr
            | Helper::GetStackid
            | Helper::DPath => 3,
            Helper::MapUpdateElem | Helper::RingbufOutput | Helper::GetStack => 4,
            // The verifier reads all five (unused values are passed as 0).
            Helper::TracePrintk => 5,
        }
    }
}

/// `bpf_ringbuf_output` flag: do not notify the reader (it polls instead).
pub const BPF_RB_NO_WAKEUP: i32 = 1;
/// `bpf_map_update_elem` flags.
pub const BPF_ANY: i32 = 0;
pub const BPF_NOEXIST: i32 = 1;
/// `bpf_get_stackid` flag: walk the user stack instead of the kernel's.
pub const BPF_F_USER_STACK: i32 = 1 << 8;
