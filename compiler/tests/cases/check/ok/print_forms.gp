BEGIN { @m[1] = count(); @h = hist(5); }
END { print(@m, 10); print(@h); print(comm); print((1, 2)); }
