BEGIN { @x = comm + 1; }
