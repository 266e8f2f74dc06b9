uprobe:/bin/true:main { @g[goid] = count(); }
