// bpf_trace_printk knows %d %u %x (with l/ll), %p and %s: not %c, %X or %hd.
BEGIN { debugf("%c\n", 65); debugf("%X\n", 65); debugf("%hd\n", 65); }
