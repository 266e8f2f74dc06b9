BEGIN { @x = pid.foo; }
