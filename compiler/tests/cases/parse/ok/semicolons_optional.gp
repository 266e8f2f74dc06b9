BEGIN { @a = 1; @b = 2 }
END { ; ; @c = 3;; }
