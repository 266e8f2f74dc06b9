uprobe:/bin/cprog:visit+1 { @ = args.msg; }
