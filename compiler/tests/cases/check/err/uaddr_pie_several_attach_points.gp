uprobe:/bin/cpie:tick, uprobe:/bin/cpie:main { printf("%d\n", *uaddr("counter")); }
