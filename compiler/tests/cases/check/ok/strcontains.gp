// strcontains(haystack, needle): 1 when needle occurs in haystack, on literals, comm and
// strings read with str().
tracepoint:syscalls:sys_enter_openat /strcontains(str(args->filename), "/etc/")/ {
  @[comm, strcontains(comm, "ba")] = count();
  $found = strcontains("haystack", "st");
  printf("%d\n", $found + 1);
}
