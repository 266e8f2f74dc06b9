BEGIN { print(5, 1, 2); }
