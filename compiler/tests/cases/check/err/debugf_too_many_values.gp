// bpf_trace_printk formats at most three values.
BEGIN { debugf("%d %d %d %d\n", 1, 2, 3, 4); }
