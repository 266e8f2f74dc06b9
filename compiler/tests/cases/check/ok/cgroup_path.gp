// `cgroup_path(id [, filter])`: rendered in user space; a filter is a wildcard over the
// hierarchy names (`unified` for cgroup2). As a variable, a map key or value too.
tracepoint:syscalls:sys_enter_openat {
  printf("%s %s\n", cgroup_path(cgroup), cgroup_path(cgroup, "unified"));
  $p = cgroup_path(cgroup, "cpu*");
  print($p);
  @paths[cgroup_path(cgroup)] = count();
}
