// No -p/-c: there is no target pid (0 would match the idle task).
profile:hz:99 /pid == tpid/ { @ = count(); }
