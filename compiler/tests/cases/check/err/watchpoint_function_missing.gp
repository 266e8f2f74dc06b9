// target
watchpoint:missing_function+arg0:4:w { @ = count(); }
