// The kernel's task states (runqlat.bt): /usr/include/linux/sched.h is the uapi header, which
// has none; gprobe knows the kernel header's.
#include <linux/sched.h>
tracepoint:syscalls:sys_enter_openat { if (args->flags == TASK_RUNNING) { @running = count(); } @idle[args->mode == TASK_IDLE] = count(); }
