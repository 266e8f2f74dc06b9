uprobes:./srv:main.work { }
