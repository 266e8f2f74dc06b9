// unsafe
BEGIN { signal("KILL"); }
