// `#!` is skipped only as the file's first bytes; anywhere else it is not gprobe syntax.
BEGIN { }
#!/usr/bin/env gprobe
