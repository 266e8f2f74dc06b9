// A constant index past pton's 4 (or 16) bytes is an error, as in bpftrace.
BEGIN { $a = pton("1.2.3.4"); printf("%d\n", $a[7]); printf("%d\n", pton("::1")[16]); }
