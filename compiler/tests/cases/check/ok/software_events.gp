software:faults { @[comm] = count(); }
s:cs:10 { @cs[pid] = count(); }
software:cpu-clock:1000000 { @u[ustack(3)] = count(); }
hardware:cycles { @h = count(); }
