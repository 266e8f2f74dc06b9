BEGIN { @x = comm < "a"; }
