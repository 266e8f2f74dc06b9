// A kernel struct held by value in the program's own struct: its size and alignment come from
// BTF (task_struct here: 9000 bytes, aligned to 8 by its pointers), its members are the
// kernel's, read to any depth; the program's members after it are laid out past it.
struct req { char tag; struct task_struct task; int n; };
uprobe:/bin/true:main {
  $r = (struct req *)arg0;
  printf("%d %d %d %d %d\n", $r->task.pid, $r->task.se.vruntime, $r->n, sizeof(struct req),
         offsetof(struct req, n));
}
