uprobe:./notes.txt:main.work { @calls[args.id] = count(); }
