tracepoint:syscalls:sys_enter_opn* { @n = count(); }
