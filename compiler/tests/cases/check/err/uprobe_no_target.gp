uprobe:runtime.gopark { @p = count(); }
