uprobe:./srv:main.work { $s = str(arg0); $b = buf(arg1, 16); printf("%s %r %s %s\n", $s, $b, usym(reg("rip")), ksym(arg2)); }
