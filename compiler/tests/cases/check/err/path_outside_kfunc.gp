// path() needs bpf_d_path, which only fentry/fexit and iter programs have: bpftrace allows it
// in kfunc, kretfunc and iter probes, which gprobe does not attach.
tracepoint:syscalls:sys_enter_openat { print(path(args->filename)); }
kprobe:vfs_open { print(path(arg0)); }
