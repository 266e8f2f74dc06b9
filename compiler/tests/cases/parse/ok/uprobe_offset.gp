uprobe:/usr/bin/app:main.loop+0x1f { @hits = count(); }
