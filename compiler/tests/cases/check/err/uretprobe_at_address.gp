uretprobe:/bin/cprog:0x115d { @ = count(); }
