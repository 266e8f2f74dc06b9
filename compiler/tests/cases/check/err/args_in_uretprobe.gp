uretprobe:./work:main.work { @a = args.id; }
