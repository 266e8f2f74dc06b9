// `name` is a parameter of `main.work` only, not of `main.workers`.
uprobe:./srv:main.work* { @names[str(args.name)] = count(); }
// Nothing is common to every function `main.*` matches.
uprobe:./srv:*.* { @ids[args.id] = count(); }
