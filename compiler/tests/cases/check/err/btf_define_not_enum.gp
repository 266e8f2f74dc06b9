// TASK_RUNNING is a `#define` in the kernel's headers, not an enum: BTF does not have it
// (bpftrace 0.17 rejects it too without the headers).
tracepoint:syscalls:sys_enter_openat /curtask->__state == TASK_RUNNING/ { @ = count(); }
