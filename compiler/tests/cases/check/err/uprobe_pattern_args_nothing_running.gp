// No running program matches the pattern: nothing says what `main.work`'s parameters are.
uprobe:*:main.work { printf("%d\n", args.id); }
