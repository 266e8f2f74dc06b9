// Members of anonymous structs and unions are reached directly, as C lets them be named.
struct packet {
  int kind;
  union {
    struct { short sport; short dport; };
    long raw;
  };
  struct { char a; int b; } pair;
};
uprobe:/bin/true:main {
  $p = (struct packet *)arg0;
  printf("%d %d %d %d\n", $p->sport, $p->dport, $p->raw, $p->pair.b);
  printf("%d %d %d\n", offsetof(struct packet, dport), offsetof(struct packet, pair.b), sizeof(struct packet));
}
