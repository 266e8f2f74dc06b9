uprobe:./srv:main.work/pid == 1/ { }
