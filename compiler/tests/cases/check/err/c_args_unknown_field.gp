uprobe:/bin/cprog:visit { @ = args.mgs; }
