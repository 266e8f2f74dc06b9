// unsafe
// cat and system take printf formats; system needs --unsafe.
BEGIN { cat("/proc/%s", "loadavg"); system("echo %d %s", pid, comm); exit(); }
