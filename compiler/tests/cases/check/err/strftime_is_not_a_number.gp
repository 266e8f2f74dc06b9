BEGIN { printf("%d\n", strftime("%H", nsecs)); $x = strftime("%H", nsecs) + 1; }
// One variable holds one format.
BEGIN { $t = strftime("%H", nsecs); $t = strftime("%M", nsecs); }
