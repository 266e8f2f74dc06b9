// target
// A pattern traces every matching program on the host; -p/-c names one.
uprobe:*:main.work { @ = count(); }
