watchpoint:0x601041:8:w { @ = count(); }
