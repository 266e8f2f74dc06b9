uprobe:/bin/cpie:ti* { printf("%d\n", *uaddr("counter")); }
