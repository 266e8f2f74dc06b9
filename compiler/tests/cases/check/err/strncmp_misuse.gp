BEGIN { $n = 3; if (strncmp(comm, "bash", $n) == 0) { exit(); } }
BEGIN { if (strncmp(pid, "bash", 2) == 0) { exit(); } }
