// `args` is a tracepoint's tracefs record; a raw tracepoint has only argN.
rawtracepoint:sys_enter { @[args.id] = count(); }
