// `__attribute__((packed))` drops the padding (bit-fields follow bit by bit), `aligned(N)` raises
// a record's or a member's alignment, as gcc lays them out.
struct __attribute__((packed)) pk { char c; int i; short s; long long l; };
struct pk_bits { char c; int x : 7; int y : 20; } __attribute__((packed));
struct al { char c; int i __attribute__((aligned(16))); char d; } __attribute__((aligned(32)));
uprobe:/bin/true:main {
  $p = (struct pk *)arg0;
  $b = (struct pk_bits *)arg1;
  printf("%d %d %d %d\n", $p->l, $b->y, sizeof(struct pk), sizeof(struct al));
  @off = offsetof(struct al, d);
}
