BEGIN /comm/ { @x = 1; }
