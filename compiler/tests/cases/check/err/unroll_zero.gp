BEGIN { unroll(0) { @x = 1; } }
