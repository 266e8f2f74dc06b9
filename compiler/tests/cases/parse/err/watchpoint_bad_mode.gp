watchpoint:0x601040:8:rx { @ = count(); }
