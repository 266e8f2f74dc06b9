BEGIN { $f = "unified"; printf("%s\n", cgroup_path(cgroup, $f)); }
