uprobe:./srv:main.work /pid == 1/{ @x = count(); }
