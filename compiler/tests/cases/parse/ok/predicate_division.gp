interval:s:1 /nsecs / 1000 % 2 == 0/ { @even = count(); }
