#define ADD(a, b) ((a) + (b))
BEGIN { @x = ADD(1); }
