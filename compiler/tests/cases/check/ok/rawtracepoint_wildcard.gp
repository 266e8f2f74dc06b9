// A raw tracepoint glob expands to every tracepoint name it matches (the per-syscall
// `syscalls:` events are no raw tracepoints); `probe` names each in full.
rawtracepoint:sys_e* { @[probe] = count(); }
rawtracepoint:sched_* { @sched = count(); }
