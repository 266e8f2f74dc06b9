uprobe:./srv:missing.wrok { @calls = count(); }
