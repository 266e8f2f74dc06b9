uprobe:/bin/cprog:visit { @ = args.o->s->h; }
