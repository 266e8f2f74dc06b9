BEGIN { @g = goid; }
