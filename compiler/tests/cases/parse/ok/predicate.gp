tracepoint:syscalls:sys_enter_read /pid == 42 && comm != "bash"/ { @reads = count(); }
