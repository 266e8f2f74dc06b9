// binaries: /srv/a/bin/work /srv/b/bin/work-go1.19
// A binary pattern becomes its pending form, then one attach point per binary it matched;
// `args` is typed from those binaries.
uprobe:/srv/*/bin/work*:main.work { @[pid] = count(); printf("%d %s\n", args.id, str(args.name)); }
uprobe:*:main.w* { @calls[comm] = count(); }
