uprobe:/bin/cprog:visit+2 { @ = count(); }
