// No target: gocaller's addresses could not be symbolized per process.
tracepoint:syscalls:sys_enter_openat { @[gocaller] = count(); }
