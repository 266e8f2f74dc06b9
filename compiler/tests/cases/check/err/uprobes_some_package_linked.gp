// target
// `main` is linked, so a missing function there is reported as itself (nearest names), with
// the errors that follow from it: no refusal of the whole program.
uprobe:"google.golang.org/grpc.(*Server).handleStream" { @n = count(); }
uprobe:main.nothing* { @m = count(); }
