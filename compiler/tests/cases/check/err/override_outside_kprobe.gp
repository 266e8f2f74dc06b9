// unsafe
// override() needs bpf_override_return: kprobes only.
tracepoint:syscalls:sys_enter_openat { override(1); }
