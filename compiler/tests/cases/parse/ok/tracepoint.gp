tracepoint:sched:sched_switch { @switches = count(); }
tracepoint:syscalls:sys_enter_* { @sys[probe] = count(); }
