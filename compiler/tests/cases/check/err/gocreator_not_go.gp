uprobe:/bin/true:main { @[gocreator] = count(); }
