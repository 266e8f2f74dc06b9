// Unquoted, the `*` of `(*response)` is a wildcard (matching one function here, so `args` works).
uprobe:./srv:net/http.(*response).WriteHeader { @codes[args.code] = count(); }
// Quoted, it is literal: no function has this exact name.
uprobe:./srv:"net/http.(*resp*).WriteHeader" { @n = count(); }
