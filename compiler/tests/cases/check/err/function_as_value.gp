BEGIN { @x = count; }
