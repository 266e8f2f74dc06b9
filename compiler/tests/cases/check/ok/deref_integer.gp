// `*addr` of an integer reads an unsigned integer of its size from kernel memory (loads.bt's
// `*($avenrun + 8)`), as bpftrace does.
BEGIN { $a = kaddr("avenrun"); @x = *$a; @y = *($a + 8); @z = *(uint32)$a; }
