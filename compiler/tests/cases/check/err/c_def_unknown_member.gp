struct conn { int fd; int flags; char peer[16]; };
uprobe:/bin/true:main { $c = (struct conn *)arg0; printf("%d %s\n", $c->fds, $c->per); }
