uprobe:/bin/bash:readline { signal("SIGUSR1"); }
