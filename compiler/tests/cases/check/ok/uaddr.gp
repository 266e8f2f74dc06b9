// `uaddr("sym")`: a symbol of the probed binary, a user pointer sized by the symbol (an int
// reads 4 bytes, a char 1); in a PIE binary the load bias is added when the probe runs: from
// the probed function's address, or (a wildcard, USDT) from the site that fired.
uprobe:/bin/cprog:tick { printf("%d %d %d\n", *uaddr("counter"), *uaddr("flag"), uaddr("counter")); }
uretprobe:/bin/cpie:tick { @[*uaddr("counter")] = count(); }
uprobe:/bin/cpie:ti* { @w[probe] = sum(*uaddr("counter")); }
usdt:/bin/cpie:app:start { @u = *uaddr("flag"); }
