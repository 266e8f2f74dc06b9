// A quoted Go name is one function: its `*` (a pointer receiver) is not a wildcard, so `args`
// has that function's signature.
uprobe:./srv:"net/http.(*response).WriteHeader" { @codes[args.code] = count(); }
// Unquoted, `*` and `?` are wildcards.
uprobe:./srv:net/http.(*re?ponse).* { @calls[probe] = count(); }
