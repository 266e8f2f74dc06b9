BEGIN { emit((a=1, a=2)); }
