uprobe:./srv:main.other { @a = args.x; }
