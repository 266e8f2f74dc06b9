// Bit-fields pack into the running unit of their type and move to the next one rather than
// straddle it; `:0` skips to the next unit; unnamed ones pad. They read as integers.
struct flags {
  unsigned int a : 3;
  unsigned int b : 30;
  unsigned char c : 7;
  int : 0;
  short d : 5;
  int : 4;
  long long e : 40;
  _Bool on : 1;
};
uprobe:/bin/true:main {
  $f = (struct flags *)arg0;
  printf("%d %d %d %d\n", sizeof(struct flags), $f->a, $f->b, $f->e);
  if ($f->on) { @d[$f->d] = count(); }
}
