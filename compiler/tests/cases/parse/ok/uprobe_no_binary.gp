// target
uprobe:runtime.gopark { @parks = count(); }
