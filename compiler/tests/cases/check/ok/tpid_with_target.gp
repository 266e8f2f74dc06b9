// target
// tpid: the -p/-c target, for filtering samples and tracepoints without a probe in it.
profile:hz:99 /pid == tpid/ { @[tpid] = count(); }
tracepoint:syscalls:sys_enter_openat /pid == tpid/ { @s[args.dfd] = count(); }
