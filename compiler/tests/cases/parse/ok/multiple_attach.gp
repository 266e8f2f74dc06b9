tracepoint:syscalls:sys_enter_read,
  tracepoint:syscalls:sys_enter_write { @io[probe] = count(); }
