// A raw tracepoint's arguments are its TP_PROTO's, u64 each: sys_enter passes (regs, id);
// a pointer among them is cast and read through as any kernel pointer.
rawtracepoint:sys_enter /arg1 == 110/ { @getppid[pid] = count(); }
rt:sys_exit { @ret = hist((int64)arg1); }
rawtracepoint:vmlinux:sched_switch { @next[arg2] = count(); @[probe] = count(); }
