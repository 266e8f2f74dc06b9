// target
watchpoint:increment+arg7:4:w { @ = count(); }
