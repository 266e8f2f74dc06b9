// A kprobe reads the kernel function's C arguments (`arg0`..), names it with `func` (a kernel
// symbol, from bpf_get_func_ip), and has the kernel stack; as bpftrace's vfscount/biolatency do.
kprobe:vfs_read /arg2 > 16/ { @reads[func] = count(); @start[tid] = nsecs; @k[kstack(4)] = count(); }
kretprobe:vfs_read /@start[tid]/ { @bytes = hist(retval); @us = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]); }
