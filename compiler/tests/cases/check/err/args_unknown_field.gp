uprobe:./work:main.work { @a = args.nmae; }
