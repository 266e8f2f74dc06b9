BEGIN { @c = count(); @c += 1; }
