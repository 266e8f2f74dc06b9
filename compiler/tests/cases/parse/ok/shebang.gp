#!/usr/bin/env gprobe
// A script run directly: the shebang line is skipped, later spans keep their lines.
BEGIN { printf("hi\n"); exit(); }
