BEGIN { @x = $1; }
