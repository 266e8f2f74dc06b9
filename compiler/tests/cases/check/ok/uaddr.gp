// `uaddr("sym")`: a symbol of the probed binary, a user pointer sized by the symbol (an int
// reads 4 bytes, a char 1); in a PIE binary the load bias is added when the probe runs.
uprobe:/bin/cprog:tick { printf("%d %d %d\n", *uaddr("counter"), *uaddr("flag"), uaddr("counter")); }
uretprobe:/bin/cpie:tick { @[*uaddr("counter")] = count(); }
