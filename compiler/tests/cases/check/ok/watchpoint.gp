// target
watchpoint:0x601040:8:rw { @[comm] = count(); }
asyncwatchpoint:0x601048:4:w { @w = count(); }
