// Only uprobes and kprobes take an offset.
rawtracepoint:sys_enter+8 { }
