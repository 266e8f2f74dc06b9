// Several tracepoints reading `args`: one probe per tracepoint, each typed by its own format
// (`filename` is at offset 24 in openat's, 16 in open's), as bpftrace's opensnoop needs.
tracepoint:syscalls:sys_enter_open,
tracepoint:syscalls:sys_enter_openat
{
    @files[str(args->filename)] = count();
}
