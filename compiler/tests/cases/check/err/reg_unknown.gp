uprobe:./srv:main.work { @r = reg("rxa"); }
