uprobe:./srv:main.work { @by_creator[gocreator] = count(); @parent[goid] = goparent; }
