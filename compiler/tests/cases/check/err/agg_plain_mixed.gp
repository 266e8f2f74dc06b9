BEGIN { @x = count(); @x = 5; }
