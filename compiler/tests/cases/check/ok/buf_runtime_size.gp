// buf(p, n) with a run-time n (undump.bt's `buf($skb->data, $skb->len)`): at most 64 bytes, n
// clamped to them.
tracepoint:syscalls:sys_enter_openat { printf("%r\n", buf(args->filename, args->flags)); @[buf(args->filename, args->mode & 15)] = count(); }
