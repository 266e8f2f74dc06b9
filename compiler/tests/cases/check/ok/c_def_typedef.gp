// Typedefs of base types, of structs, of pointers and of well-known names (u32, uint64_t,
// size_t, pid_t) are usable in members, casts (with a `*`), sizeof and offsetof.
typedef unsigned int myint;
struct node { myint id; u8 flags; uint64_t total; size_t len; pid_t pid; };
typedef struct node node_t;
typedef struct node *node_ptr, **node_pptr;
typedef enum { IDLE, BUSY } state_t;
typedef struct { int a; node_ptr n; } anon_t;
struct holder { node_ptr first; state_t state; };
uprobe:/bin/true:main {
  $n = (node_t *)arg0;
  $h = (struct holder *)arg1;
  printf("%d %d %d\n", $n->id, $h->first->pid, $h->state == BUSY);
  printf("%d %d %d %d\n", sizeof(node_t), sizeof(myint), sizeof(node_pptr), offsetof(node_t, len));
  $a = (anon_t *)arg2;
  printf("%d %d %d %d\n", $a->a, $a->n->id, sizeof(anon_t), sizeof(size_t));
}
