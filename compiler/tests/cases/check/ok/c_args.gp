// C arguments from DWARF, through struct pointers.
uprobe:/bin/cprog:visit { printf("%d %d %s %s\n", args.o->s->f, args.o->n, str(args.o->name), str(args.msg)); }
