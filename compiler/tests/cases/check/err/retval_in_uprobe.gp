uprobe:./srv:main.work { @r = retval; }
