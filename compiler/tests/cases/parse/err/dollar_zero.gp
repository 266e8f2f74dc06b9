BEGIN { @x = $0; }
