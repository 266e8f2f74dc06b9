#ifdef BPFTRACE_HAVE_BTF
BEGIN { exit(); }
