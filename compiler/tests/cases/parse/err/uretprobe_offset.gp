uretprobe:./srv:main.work+8 { }
