// gocreator(g): where the goroutine whose g is given was started (function+offset).
uprobe:./srv:main.work { @[gocreator(args.id)] = count(); @[gocreator] = count(); }
