// Enumerators count up from 0 or from an earlier value, may be constant expressions naming
// earlier ones, are usable by name, and size the enum (4 bytes; 8 when a value needs it).
enum color { RED, GREEN = 5, BLUE, MASK = (BLUE << 4) | 1, NEG = -2 };
enum big { HUGE = 0x100000000 };
struct pixel { enum color c; enum big b; char end; };
uprobe:/bin/true:main {
  $p = (struct pixel *)arg0;
  if ($p->c == BLUE) { @blue = count(); }
  printf("%d %d %d %d\n", RED, MASK, NEG, sizeof(struct pixel));
  printf("%d %d\n", sizeof(enum color), sizeof(enum big));
}
