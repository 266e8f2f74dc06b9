uprobe:./srv:main.work { @s = str(arg0, 1000); }
