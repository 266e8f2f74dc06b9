// sys_enter passes two arguments (regs, id): arg2 would be refused by the kernel at attach.
rawtracepoint:sys_enter { @[arg2] = count(); }
