// A wildcard's probe may read the parameters all its functions share (same name, type and
// place): `main.work` and `main.workers` both take `id int` first.
uprobe:./srv:main.work* { @by_id[args.id] = count(); }
// HTTP/1's and HTTP/2's status writers differ in their receivers but share `code`.
uprobe:./srv:net/http*riteHeader { @codes[args.code] = count(); }
