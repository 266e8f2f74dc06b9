interval:s:1 { time("%H:%M:%S\n"); printf("%s\n", strftime("%H", nsecs)); }
