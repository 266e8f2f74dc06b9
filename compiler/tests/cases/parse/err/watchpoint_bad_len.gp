watchpoint:0x601040:3:w { @ = count(); }
