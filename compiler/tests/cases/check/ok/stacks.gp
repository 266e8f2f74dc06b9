profile:hz:99 { @u[ustack] = count(); @k[kstack] = count(); @g[gostack] = count(); @g5[gostack(5)] = count(); @u3[ustack(3)] = count(); }
