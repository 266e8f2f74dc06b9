uprobe:/bin/cprog:visit+1 { @ = count(); }
