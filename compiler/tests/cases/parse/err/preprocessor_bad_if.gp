#if 1 +
BEGIN { exit(); }
#endif
