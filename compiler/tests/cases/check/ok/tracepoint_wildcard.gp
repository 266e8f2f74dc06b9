// A tracepoint wildcard expands to the tracepoints it matches; with `args` each gets its own probe.
tracepoint:syscalls:sys_enter_open* { @[probe, str(args.filename)] = count(); }
tracepoint:syscalls:sys_exit_* { @exits = count(); }
