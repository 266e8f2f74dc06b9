uprobe:./srv:main.work { @a = arg12; }
