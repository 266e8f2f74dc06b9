// `p[i]`, `*p` and pointers to pointers, in the probe's address space (user in uprobes).
uprobe:/bin/true:main {
  $p = (uint64 *)arg0;
  $pp = (uint32 **)arg1;
  printf("%d %d %d %d %d\n", $p[2], *$p, *($p + 1), **$pp, $pp[1][2]);
  // A kernel struct stays in kernel memory, even in a uprobe.
  @pid = curtask->pid;
  // kptr()/uptr() name the address space of a pointer.
  @k = *kptr((uint32 *)arg2) + *uptr((uint32 *)arg3);
}
