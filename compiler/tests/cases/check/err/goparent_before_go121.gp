uprobe:./srv-go1.19:main.work { @[gocreator] = count(); @p[goid] = goparent; }
