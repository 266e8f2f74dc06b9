BEGIN { system("echo %d", pid); cat("/proc/loadavg", 1); cat(comm); }
