uprobe:./work:main.work { @by_name[str(args.name)] = count(); @ids = hist(args.id); @len = args.name.len; }
