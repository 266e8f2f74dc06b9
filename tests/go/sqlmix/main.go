// sqlmix: a lib/pq client making a known mix of statements against PostgreSQL, for the sql
// recipe's end-to-end test (tests/e2e_sql.rs). Every statement it makes is logged as
//   stmt KIND ok|err MICROSECONDS SQL
// (KIND: exec, query, queryrow, stmtexec, stmtqueryrow, txexec, txqueryrow, connexec,
// connqueryrow; the time is the call's, as the program sees it), then `done` once all are made.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"reflect"
	"syscall"
	"time"
	"unsafe"

	_ "github.com/lib/pq"
)

var out = bufio.NewWriter(os.Stdout)

func logStmt(kind string, start time.Time, err error, query string) {
	status := "ok"
	if err != nil {
		status = "err"
	}
	fmt.Fprintf(out, "stmt %s %s %d %s\n", kind, status, time.Since(start).Microseconds(), query)
	out.Flush()
}

// unmapPage drops the page holding s's bytes from the process's page tables (MADV_DONTNEED on
// the binary's read-only mapping: the next access faults it back in from the page cache).
func unmapPage(s string) {
	data := (*reflect.StringHeader)(unsafe.Pointer(&s)).Data
	page := data &^ uintptr(os.Getpagesize()-1)
	if err := syscall.Madvise(unsafe.Slice((*byte)(unsafe.Pointer(page)), os.Getpagesize()), syscall.MADV_DONTNEED); err != nil {
		fmt.Fprintln(os.Stderr, "madvise:", err)
		os.Exit(1)
	}
}

func main() {
	dsn := flag.String("dsn", "", "lib/pq connection string")
	n := flag.Int("n", 10, "rows to insert and read back")
	bench := flag.Int("bench", 0, "after creating the table, wait for a line on stdin, make this many reads by id (unlogged), and exit (bench/run)")
	flag.Parse()
	db, err := sql.Open("postgres", *dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	// One connection: statements run one after another, as the log says.
	db.SetMaxOpenConns(1)

	exec := func(kind, q string) {
		start := time.Now()
		_, err := db.Exec(q)
		logStmt(kind, start, err, q)
	}
	// Constant texts. A constant's page in the binary may not be mapped yet when a call
	// starts, and a probe cannot fault it in: the recipe reads the text again when the call
	// ends. CREATE's page is dropped from the page tables first (as in a process that has not
	// touched it yet), so that path is taken.
	exec("exec", "DROP TABLE IF EXISTS items")
	create := "CREATE TABLE items (id integer PRIMARY KEY, name text)"
	unmapPage(create)
	exec("exec", create)
	for i := 1; i <= *n; i++ {
		exec("exec", fmt.Sprintf("INSERT INTO items (id, name) VALUES (%d, 'item %d')", i, i))
	}
	if *bench > 0 {
		bufio.NewReader(os.Stdin).ReadString('\n')
		for i := 0; i < *bench; i++ {
			var name string
			q := fmt.Sprintf("SELECT name FROM items WHERE id = %d", 1+i%*n)
			if err := db.QueryRow(q).Scan(&name); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
		}
		fmt.Fprintf(out, "bench %d\n", *bench)
		out.Flush()
		return
	}
	for i := 1; i <= *n; i++ {
		q := fmt.Sprintf("SELECT name FROM items WHERE id = %d", i)
		start := time.Now()
		var name string
		err := db.QueryRow(q).Scan(&name)
		logStmt("queryrow", start, err, q)
	}
	for i := 0; i < 3; i++ {
		q := fmt.Sprintf("SELECT id, name FROM items WHERE id < %d ORDER BY id", 4+i)
		start := time.Now()
		rows, err := db.Query(q)
		if err == nil {
			for rows.Next() {
			}
			rows.Close()
		}
		logStmt("query", start, err, q)
	}
	// A statement with server time to measure: 50 ms in PostgreSQL.
	for i := 0; i < 2; i++ {
		q := "SELECT pg_sleep(0.05)"
		start := time.Now()
		rows, err := db.Query(q)
		if err == nil {
			for rows.Next() {
			}
			rows.Close()
		}
		logStmt("query", start, err, q)
	}
	// Failing statements: a missing table, a missing column.
	for i := 0; i < 4; i++ {
		exec("exec", fmt.Sprintf("INSERT INTO missing_table VALUES (%d)", i))
	}
	for i := 0; i < 2; i++ {
		q := fmt.Sprintf("SELECT nope FROM items WHERE id = %d", i)
		start := time.Now()
		rows, err := db.Query(q)
		if err == nil {
			rows.Close()
		}
		logStmt("query", start, err, q)
	}
	// A prepared statement, executed with parameters (its text has no literals).
	pq := "UPDATE items SET name = $1 WHERE id = $2"
	stmt, err := db.Prepare(pq)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prepare:", err)
		os.Exit(1)
	}
	for i := 1; i <= 5; i++ {
		start := time.Now()
		_, err := stmt.Exec(fmt.Sprintf("renamed %d", i), i)
		logStmt("stmtexec", start, err, pq)
	}
	stmt.Close()
	// Statements inside a transaction.
	tx, err := db.Begin()
	if err != nil {
		fmt.Fprintln(os.Stderr, "begin:", err)
		os.Exit(1)
	}
	for i := 1; i <= 3; i++ {
		q := fmt.Sprintf("DELETE FROM items WHERE id = %d", i)
		start := time.Now()
		_, err := tx.Exec(q)
		logStmt("txexec", start, err, q)
	}
	{
		q := fmt.Sprintf("SELECT count(*) FROM items WHERE id > %d", 3)
		start := time.Now()
		var count int
		err := tx.QueryRow(q).Scan(&count)
		logStmt("txqueryrow", start, err, q)
	}
	if err := tx.Commit(); err != nil {
		fmt.Fprintln(os.Stderr, "commit:", err)
		os.Exit(1)
	}
	// A failing statement in a transaction, rolled back.
	tx, err = db.Begin()
	if err != nil {
		fmt.Fprintln(os.Stderr, "begin:", err)
		os.Exit(1)
	}
	{
		q := fmt.Sprintf("UPDATE missing_table SET x = %d", 1)
		start := time.Now()
		_, err := tx.Exec(q)
		logStmt("txexec", start, err, q)
	}
	tx.Rollback()
	// A prepared query, read row by row.
	ps := "SELECT name FROM items WHERE id = $1"
	qstmt, err := db.Prepare(ps)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prepare:", err)
		os.Exit(1)
	}
	for i := 4; i <= 6; i++ {
		start := time.Now()
		var name string
		err := qstmt.QueryRow(i).Scan(&name)
		logStmt("stmtqueryrow", start, err, ps)
	}
	qstmt.Close()
	// Statements on a dedicated connection (sql.Conn), one of them failing.
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conn:", err)
		os.Exit(1)
	}
	for i := 5; i <= 6; i++ {
		q := fmt.Sprintf("UPDATE items SET name = 'conn %d' WHERE id = %d", i, i)
		start := time.Now()
		_, err := conn.ExecContext(ctx, q)
		logStmt("connexec", start, err, q)
	}
	{
		q := fmt.Sprintf("INSERT INTO missing_table VALUES (%d)", 9)
		start := time.Now()
		_, err := conn.ExecContext(ctx, q)
		logStmt("connexec", start, err, q)
	}
	{
		q := fmt.Sprintf("SELECT count(*) FROM items WHERE id > %d", 0)
		start := time.Now()
		var count int
		err := conn.QueryRowContext(ctx, q).Scan(&count)
		logStmt("connqueryrow", start, err, q)
	}
	conn.Close()
	db.Close()
	fmt.Fprintln(out, "done")
	out.Flush()
}
