#define OPEN probe(
BEGIN { @x = OPEN; }
