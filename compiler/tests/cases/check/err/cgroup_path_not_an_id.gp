BEGIN { printf("%s\n", cgroup_path(comm)); }
