uprobe:/usr/lib/libc.so.6:malloc { @sizes = hist(arg0); @a9[arg9] = count(); @f[func] = count(); }
