// A name no tracepoint of this kernel has.
rawtracepoint:sys_enter_openat { @ = count(); }
