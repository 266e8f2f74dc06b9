// debugf writes with bpf_trace_printk into trace_pipe: %d %u %x with l/ll, %p and %s, flags
// and widths, at most three values; it warns as bpftrace does.
tracepoint:syscalls:sys_enter_openat {
  debugf("open %s by %d\n", comm, pid);
  debugf("%-5d|%08x|%lld\n", tid, uid, nsecs);
  debugf("%p %lu %llx\n", curtask, cpu, 1);
  debugf("no values\n");
}
