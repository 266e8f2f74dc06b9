BEGIN { @x = 1;
