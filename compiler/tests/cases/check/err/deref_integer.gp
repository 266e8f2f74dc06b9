BEGIN { @x = *nsecs; }
