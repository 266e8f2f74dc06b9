uprobe:./srv:net/http.* { @calls[probe] = count(); }
