// C structs defined in the program: members at their alignment, tail padding, arrays (also
// multi-dimensional and of structs), pointers (to pointers, to functions: 8 bytes), nested
// structs by value; the `;` after `}` is optional, as in bpftrace. Sizes may be macros.
#define CORNERS 4
struct point { short x; short y; }
struct shape {
  char kind;
  long long id;
  struct point corners[CORNERS];
  char grid[3][5];
  struct shape *next;
  struct shape **all;
  int (*area)(struct shape *, int);
  double scale;
  char tail;
};
uprobe:/bin/true:main {
  $s = (struct shape *)arg0;
  printf("%d %d %d %d\n", sizeof(struct point), sizeof(struct shape), offsetof(struct shape, id),
    offsetof(struct shape, corners));
  printf("%d %d %d\n", offsetof(struct shape, grid), offsetof(struct shape, next),
    offsetof(struct shape, tail));
  printf("%d %d %s\n", $s->corners[1].y, $s->next->id, $s->grid[2]);
  @n = $s->next->next->kind;
  @sz = sizeof(unsigned long) + sizeof(char *) + sizeof(long double);
}
