typedef struct foo { int a; } foo_t;
uprobe:/bin/true:main { $x = (struct foo)arg0; @y = sizeof(foo_t) + sizeof(struct nope); }
