// bpftrace's kprobes have no `args` (its kfunc probes do): argN is the C ABI's.
kprobe:vfs_read { @x = args.count; }
