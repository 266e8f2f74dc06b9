// A union's members all start at 0; its size is its largest member's, rounded up to its
// alignment. Unions are cast to and sized like structs.
union value { char c; int i; long l; char bytes[13]; };
struct tagged { int tag; union value v; };
uprobe:/bin/true:main {
  $u = (union value *)arg0;
  $t = (struct tagged *)arg1;
  printf("%d %d %d %s\n", sizeof(union value), sizeof(struct tagged), $u->i, $t->v.bytes);
  @l = $t->v.l;
  @off = offsetof(union value, bytes);
}
