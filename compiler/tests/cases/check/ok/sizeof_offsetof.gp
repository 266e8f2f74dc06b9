// `sizeof` of a type or an expression and `offsetof` through nested members: constants.
BEGIN {
  printf("%d %d %d %d\n", sizeof(struct task_struct), sizeof(uint32), sizeof(struct sock *),
    sizeof(curtask->comm));
  printf("%d %d\n", offsetof(struct task_struct, pid), offsetof(struct task_struct, thread.fsbase));
  $p = (uint64)curtask + offsetof(struct task_struct, comm);
  @x = sizeof($p);
}
