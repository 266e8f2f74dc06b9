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
// `@drivers` the statements made on a DB, Tx or Conn by driver, named by the driver
// connection's `Begin` method (`github.com/lib/pq.(*conn).Begin`: lib/pq); a prepared
// statement's executions are not in it (their connection is picked inside the call). A statement's start
// time and text are one goroutine-keyed map element. Works on Go 1.19-1.27, stripped or not
// (signatures and `Stmt.query` from gprobe's tables). The text (its first 128 bytes) is read
// when the call starts; a constant statement in a page of the binary the process has not
// touched yet cannot be read then (a probe cannot fault a page in), so it is read again when
// the call ends, once the driver has read it, then through a run-time length: its first 63
// bytes.
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
// Sample output (Go 1.27.3 tests/go/sqlmix stripped, lib/pq against PostgreSQL 15 on 127.0.0.1,
// -n 10; some histograms left out):
//   @calls[CREATE TABLE items (id integer PRIMARY KEY, name text)]: 1
//   @calls[DROP TABLE IF EXISTS items]: 1
//   @calls[UPDATE missing_table SET x = ?]: 1
//   @calls[SELECT count(*) FROM items WHERE id > ?]: 2
//   @calls[SELECT nope FROM items WHERE id = ?]: 2
//   @calls[SELECT pg_sleep(?)]: 2
//   @calls[UPDATE items SET name = ? WHERE id = ?]: 2
//   @calls[DELETE FROM items WHERE id = ?]: 3
//   @calls[SELECT id, name FROM items WHERE id < ? ORDER BY id]: 3
//   @calls[SELECT name FROM items WHERE id = $1]: 3
//   @calls[INSERT INTO missing_table VALUES (?)]: 5
//   @calls[UPDATE items SET name = $1 WHERE id = $2]: 5
//   @calls[INSERT INTO items (id, name) VALUES (?, ?)]: 10
//   @calls[SELECT name FROM items WHERE id = ?]: 10
//   @drivers[github.com/lib/pq.(*conn).Begin]: 42
//   @errors[UPDATE missing_table SET x = ?]: 1
//   @errors[SELECT nope FROM items WHERE id = ?]: 2
//   @errors[INSERT INTO missing_table VALUES (?)]: 5
//   @latency_us[SELECT pg_sleep(?)]:
//   [32K, 64K)             2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   @latency_us[INSERT INTO missing_table VALUES (?)]:
//   [32, 64)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [64, 128)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
//   [128, 256)             2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   @latency_us[SELECT name FROM items WHERE id = ?]:
//   [64, 128)              8 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [128, 256)             1 |@@@@@@                                              |
//   [256, 512)             0 |                                                    |
//   [512, 1K)              0 |                                                    |
//   [1K, 2K)               0 |                                                    |
//   [2K, 4K)               0 |                                                    |
//   [4K, 8K)               1 |@@@@@@                                              |
// (sqlmix made 10 inserts and 10 `WHERE id = N` reads, 3 range reads, 2 pg_sleep calls, 4
// inserts into a missing table and 2 reads of a missing column on the DB; 5 executions of a
// prepared UPDATE and 3 of a prepared SELECT; 3 DELETEs, a count and a failing UPDATE in
// transactions; on a sql.Conn 2 UPDATEs, a failing insert and a count)

// @if !func database/sql.(*DB).execDC
// @error no database/sql in this binary: database/sql.(*DB).execDC is not linked
// @end

uprobe:"database/sql.(*DB).execDC"
{
    @q[goid] = (nsecs, str(args.query, 128), args.query.ptr, args.query.len);
    // The driver: the connection's concrete type, named by its first driver.Conn method in
    // the itab (methods sorted by name: `Begin`), from the pclntab when stripped.
    @drivers[usym(*(uint64 *)(args.dc.ci.type + 24))] = count();
}

uprobe:"database/sql.(*DB).queryDC"
{
    @q[goid] = (nsecs, str(args.query, 128), args.query.ptr, args.query.len);
    @drivers[usym(*(uint64 *)(args.dc.ci.type + 24))] = count();
}

// @if func database/sql.(*Stmt).ExecContext
uprobe:"database/sql.(*Stmt).ExecContext"
{
    @q[goid] = (nsecs, str(args.s.query, 128), args.s.query.ptr, args.s.query.len);
}
// @end

// @if func database/sql.(*Stmt).QueryContext
uprobe:"database/sql.(*Stmt).QueryContext"
{
    @q[goid] = (nsecs, str(args.s.query, 128), args.s.query.ptr, args.s.query.len);
}
// @end

// A query that succeeded: its rows are handed to the caller.
uprobe:"database/sql.(*Rows).initContextClose"
{
    $q = @q[goid];
    if ($q.0) {
        $text = $q.1;
        if ($text == "") {
            // The text's page was not resident when the call started; the driver has read it
            // since. A run-time length reads at most 63 bytes.
            $text = str($q.2, $q.3);
        }
        @latency_us[sqlnorm($text)] = hist((nsecs - $q.0) / 1000);
        @calls[sqlnorm($text)] = count();
        delete(@q[goid]);
    }
}

// The connection goes back with the statement's error (nil when it succeeded).
uprobe:"database/sql.(*driverConn).releaseConn-fm"
{
    $q = @q[goid];
    if ($q.0) {
        $text = $q.1;
        if ($text == "") {
            // The text's page was not resident when the call started; the driver has read it
            // since. A run-time length reads at most 63 bytes.
            $text = str($q.2, $q.3);
        }
        @latency_us[sqlnorm($text)] = hist((nsecs - $q.0) / 1000);
        @calls[sqlnorm($text)] = count();
        if (args.err.type != 0) {
            @errors[sqlnorm($text)] = count();
        }
        delete(@q[goid]);
    }
}

// @if func database/sql.(*Tx).closemuRUnlockRelease-fm
uprobe:"database/sql.(*Tx).closemuRUnlockRelease-fm"
{
    $q = @q[goid];
    if ($q.0) {
        $text = $q.1;
        if ($text == "") {
            // The text's page was not resident when the call started; the driver has read it
            // since. A run-time length reads at most 63 bytes.
            $text = str($q.2, $q.3);
        }
        @latency_us[sqlnorm($text)] = hist((nsecs - $q.0) / 1000);
        @calls[sqlnorm($text)] = count();
        if (args.p0.type != 0) {
            @errors[sqlnorm($text)] = count();
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
        $text = $q.1;
        if ($text == "") {
            // The text's page was not resident when the call started; the driver has read it
            // since. A run-time length reads at most 63 bytes.
            $text = str($q.2, $q.3);
        }
        @latency_us[sqlnorm($text)] = hist((nsecs - $q.0) / 1000);
        @calls[sqlnorm($text)] = count();
        if (args.err.type != 0) {
            @errors[sqlnorm($text)] = count();
        }
        delete(@q[goid]);
    }
}
// @end

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
