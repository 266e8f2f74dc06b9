// The program's definition wins over the kernel's BTF for the same name, as in bpftrace; in a
// uprobe its pointers read user memory; `curtask` is a pointer to it (in kernel memory). A
// kernel struct the program does not define is BTF's.
struct task_struct { int pid; char comm[8]; };
uprobe:/bin/true:main {
  $t = (struct task_struct *)arg0;
  printf("%d %s %d\n", $t->pid, $t->comm, sizeof(struct task_struct));
  @k = ((struct sock *)arg1)->__sk_common.skc_family;
  @comm = curtask->comm;
}
