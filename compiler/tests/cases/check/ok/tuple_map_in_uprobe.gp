// Per-goroutine state in one tuple map, read back once and deleted (as http-latency does).
uprobe:./work:main.work { @req[goid] = (nsecs, comm, arg0); }
uretprobe:./work:main.work /@req[goid].0/ {
  $r = @req[goid];
  delete(@req[goid]);
  @lat[$r.1, $r.2] = hist(nsecs - $r.0);
}
