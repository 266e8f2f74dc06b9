interval:s:1 { time("%H:%M:%S\n"); printf("%s\n", strftime("%H", nsecs)); }
// A timestamp keeps its format through variables and maps; it prints as text.
BEGIN { $t = strftime("%H:%M:%S.%f", nsecs); @at[strftime("%M", nsecs)] = $t; printf("%s %s\n", $t, @at[strftime("%M", 0)]); }
