BEGIN { @a = args.x; }
