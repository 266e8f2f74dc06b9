// bswap keeps its argument's width; strncmp compares a prefix; rendered values print as text.
BEGIN {
  printf("%d %d %d\n", bswap((uint16)0x1234), bswap((uint32)1), bswap(1));
  if (strncmp(comm, "bash", 4) == 0) { printf("bash\n"); }
  printf("%s %s %s %s\n", strerror(2), ntop(0x0100007f), ntop(2, 0x0100007f), macaddr(curtask));
  @errs[strerror(13)] = count();
  print((1, "two"));
  print(5);
  exit();
  printf("never printed\n");
}
tracepoint:syscalls:sys_enter_openat { join(args->filename); join(args->filename, ","); }
