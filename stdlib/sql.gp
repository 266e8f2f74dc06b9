// sql: database/sql statements: latency and calls by normalized statement, errors, drivers opened
//
// Run:  gprobe --recipe sql -p PID [SECONDS]
//       gprobe --recipe sql -c './app -dsn ...' [SECONDS]
//
// Times every statement a Go program makes through database/sql, whatever the driver: from
// the entry of the funnel its calls go through (`(*DB).execDC` for Exec on a DB, Tx or Conn,
// `(*DB).queryDC` for Query and QueryRow, `(*Stmt).ExecContext`/`QueryContext` for prepared
// statements) to the entry of what database/sql runs right after the driver has answered: the
// connection's release with the statement's error (`releaseConn` on a DB, `closemuRUnlockRelease`
// in a Tx, `closemuRUnlockCondReleaseConn` on a Conn, each called as a `func(error)` method
// value), or for a query that succeeded `(*Rows).initContextClose`, where its rows are handed
// out (reading them is the caller's time, not the statement's). Entry probes only: no return
// probe on Go code. The key is the statement text with its literals replaced (`sqlnorm`: `WHERE
// id = 7` and `WHERE id = 8` are one key, `WHERE id = ?`); a prepared statement's text is the
// one it was prepared with. `@errors` counts statements whose driver returned an error,
// `@drivers` the drivers opened (`sql.Open`'s driver name) while tracing. A statement's start
// time and text are one goroutine-keyed map element. Works on Go 1.19-1.27, stripped or not
// (signatures and `Stmt.query` from gprobe's tables).
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Exported (--prometheus, --otlp) by OpenTelemetry's database semantic conventions: the latency
// as `db.client.operation.duration` keyed by `db.query.text` (already free of literals, as the
// conventions ask for a non-parameterized query).
// @metric @latency_us db.client.operation.duration unit=us keys=db.query.text desc="Duration of database client operations."
// @metric @calls db.client.operations unit={operation} keys=db.query.text desc="Database client operations made."
// @metric @errors db.client.errors unit={operation} keys=db.query.text desc="Database client operations that failed."
//
// Sample output: see below (filled in from a real run).

// @if !func database/sql.(*DB).execDC
// @error no database/sql in this binary: database/sql.(*DB).execDC is not linked
// @end

uprobe:"database/sql.(*DB).execDC"
{
    @q[goid] = (nsecs, sqlnorm(str(args.query, 160)));
}

uprobe:"database/sql.(*DB).queryDC"
{
    @q[goid] = (nsecs, sqlnorm(str(args.query, 160)));
}

// @if func database/sql.(*Stmt).ExecContext
uprobe:"database/sql.(*Stmt).ExecContext"
{
    @q[goid] = (nsecs, sqlnorm(str(args.s.query, 160)));
}
// @end

// @if func database/sql.(*Stmt).QueryContext
uprobe:"database/sql.(*Stmt).QueryContext"
{
    @q[goid] = (nsecs, sqlnorm(str(args.s.query, 160)));
}
// @end

// A query that succeeded: its rows are handed to the caller.
uprobe:"database/sql.(*Rows).initContextClose"
{
    $q = @q[goid];
    if ($q.0) {
        @latency_us[$q.1] = hist((nsecs - $q.0) / 1000);
        @calls[$q.1] = count();
        delete(@q[goid]);
    }
}

// The connection goes back with the statement's error (nil when it succeeded).
uprobe:"database/sql.(*driverConn).releaseConn-fm"
{
    $q = @q[goid];
    if ($q.0) {
        @latency_us[$q.1] = hist((nsecs - $q.0) / 1000);
        @calls[$q.1] = count();
        if (args.err.type != 0) {
            @errors[$q.1] = count();
        }
        delete(@q[goid]);
    }
}

// @if func database/sql.(*Tx).closemuRUnlockRelease-fm
uprobe:"database/sql.(*Tx).closemuRUnlockRelease-fm"
{
    $q = @q[goid];
    if ($q.0) {
        @latency_us[$q.1] = hist((nsecs - $q.0) / 1000);
        @calls[$q.1] = count();
        if (args.p0.type != 0) {
            @errors[$q.1] = count();
        }
        delete(@q[goid]);
    }
}
// @end

// @if func database/sql.(*Conn).closemuRUnlockCondReleaseConn-fm
uprobe:"database/sql.(*Conn).closemuRUnlockCondReleaseConn-fm"
{
    $q = @q[goid];
    if ($q.0) {
        @latency_us[$q.1] = hist((nsecs - $q.0) / 1000);
        @calls[$q.1] = count();
        if (args.err.type != 0) {
            @errors[$q.1] = count();
        }
        delete(@q[goid]);
    }
}
// @end

uprobe:"database/sql.Open"
{
    @drivers[str(args.driverName)] = count();
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    // Statements still running at the end are not results.
    clear(@q);
}
