// unsafe
// signal takes a name (with or without SIG) or a number, with --unsafe.
uprobe:/bin/bash:readline { signal("SIGUSR1"); signal("term"); signal(9); }
