uprobe:/bin/cprog:tick { printf("%d\n", *uaddr("missing")); }
