// sqlnorm keeps a string's bytes for user space to normalize; it keys maps, fills tuples and
// prints.
tracepoint:syscalls:sys_enter_openat {
  @calls[sqlnorm(str(args->filename, 100))] = count();
  @t[tid] = (nsecs, sqlnorm(str(args->filename)));
  $q = @t[tid];
  @lat[$q.1] = hist(nsecs - $q.0);
  printf("%s\n", sqlnorm("SELECT 1"));
}
