BEGIN { @p = pid(); }
