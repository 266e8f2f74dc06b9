// target
uprobe:./srv:"net/http.(*conn).serve" { @n = count(); }
