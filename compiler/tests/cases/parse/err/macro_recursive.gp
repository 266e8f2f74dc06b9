#define LOOP (LOOP + 1)
BEGIN { @x = LOOP; }
