BEGIN { @count = 1; }
END { printf("%d\n", @cuont); }
