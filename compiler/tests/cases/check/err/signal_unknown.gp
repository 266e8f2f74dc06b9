// unsafe
uprobe:/bin/bash:readline { signal("SIGFOO"); signal(99); }
