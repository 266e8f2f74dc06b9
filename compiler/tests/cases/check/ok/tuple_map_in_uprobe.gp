// Per-goroutine state in one tuple map, read back once and deleted (as http-latency does).
uprobe:./work:main.work { @req[goid] = (nsecs, str(args.name, 32)); }
uretprobe:./work:main.work /@req[goid].0/ {
  $r = @req[goid];
  delete(@req[goid]);
  @lat[$r.1] = hist(nsecs - $r.0);
}
