// realistic.gp: a day-to-day gprobe script for a Go HTTP service.
//
// It watches a Go server (./srv) through uprobes, the kernel through syscall and scheduler
// tracepoints, samples stacks with a profiler and prints a summary every few seconds.
//
// Usage:  gprobe examples/realistic.gp -- 5 srv
//   $1  seconds between reports
//   $2  the comm of the server process

BEGIN
{
    printf("tracing %s, reporting every %d s; Ctrl-C to stop\n", str($2), $1);
    @start_ns = nsecs;
    @reports = 0;
    @verbose = 0;
}

// ---------------------------------------------------------------------------------------------
// Go side: request handling and scheduling.

uprobe:./srv:"net/http.(*conn).serve"
{
    @conns += 1;
    @conn_started[tid] = nsecs;
}

uretprobe:./srv:"net/http.(*conn).serve"
/@conn_started[tid]/
{
    $dur_us = (nsecs - @conn_started[tid]) / 1000;
    @conn_lat_us = hist($dur_us);
    @conn_lat_stats = stats($dur_us);
    delete(@conn_started[tid]);
}

uprobe:./srv:"net/http.serverHandler.ServeHTTP"
{
    @handler_enter[goid] = nsecs;
    @requests_by_thread[tid] = count();
}

uretprobe:./srv:"net/http.serverHandler.ServeHTTP"
/@handler_enter[goid] != 0/
{
    $lat = nsecs - @handler_enter[goid];
    @handler_lat_ns = hist($lat);
    @handler_lat_lin = lhist($lat / 1000000, 0, 100, 5);
    if ($lat > 50000000) {
        @slow += 1;
        printf("slow request: goroutine %d took %d ms\n", goid, $lat / 1000000);
    } else if ($lat > 10000000) {
        @medium += 1;
    } else {
        @fast += 1;
    }
    delete(@handler_enter[goid]);
}

uprobe:./srv:runtime.gopark
{
    @parks[comm] = count();
}

uprobe:./srv:runtime.newproc1
{
    @goroutines_created += 1;
}

uprobe:./srv:"runtime.mallocgc"
{
    @malloc_calls += 1;
    @malloc_size = hist(arg0);
}

uprobe:./srv:crypto/sha256.*
{
    @json_calls[probe] = count();
}

// A C library in the same process (non-Go code keeps the C ABI).
uprobe:/lib/x86_64-linux-gnu/libc.so.6:malloc
/comm == "srv"/
{
    @libc_malloc = hist(arg0);
    @libc_callers[ustack(5)] = count();
}

uretprobe:/lib/x86_64-linux-gnu/libc.so.6:malloc
/comm == "srv"/
{
    @libc_malloc_null = sum(retval == 0 ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Kernel side: syscalls and scheduling, filtered to the server.

tracepoint:syscalls:sys_enter_openat,
tracepoint:syscalls:sys_enter_openat2
/comm == "srv"/
{
    @opens[probe] = count();
    @open_start[tid] = nsecs;
}

tracepoint:syscalls:sys_exit_openat
/@open_start[tid]/
{
    @open_lat_us = hist((nsecs - @open_start[tid]) / 1000);
    delete(@open_start[tid]);
}

tracepoint:syscalls:sys_enter_read,
tracepoint:syscalls:sys_enter_write
/comm == "srv"/
{
    @io_calls[probe, cpu] = count();
}

tracepoint:syscalls:sys_enter_accept4
/comm == "srv"/
{
    @accepts += 1;
    @accept_ts[tid] = nsecs;
}

tracepoint:sched:sched_switch
/comm == "srv"/
{
    @switches[cpu] = count();
    @offcpu_since[tid] = nsecs;
}

tracepoint:sched:sched_wakeup
/@offcpu_since[tid] != 0/
{
    $waited = nsecs - @offcpu_since[tid];
    @offcpu_us = hist($waited / 1000);
    delete(@offcpu_since[tid]);
}

tracepoint:sched:sched_process_exit
/comm == "srv"/
{
    printf("%s (pid %d) exited after %d ms\n", comm, pid, elapsed / 1000000);
    exit();
}

// ---------------------------------------------------------------------------------------------
// Sampling.

profile:hz:99
/comm == "srv"/
{
    @on_cpu[gostack(16)] = count();
    @kernel_on_cpu[kstack(8)] = count();
    @samples_by_goroutine[goid] = count();
}

profile:ms:10
/pid == 1/
{
    @init_samples = count();
}

// ---------------------------------------------------------------------------------------------
// Periodic report.

interval:s:1
{
    @seconds++;
    @uptime_ms = (nsecs - @start_ns) / 1000000;
}

interval:s:5
{
    @reports += 1;
    time("%H:%M:%S ");
    printf("report #%d after %d s\n", @reports, @seconds);
    printf("  connections %d, slow %d, medium %d, fast %d\n", @conns, @slow, @medium, @fast);

    $total = @slow + @medium + @fast;
    if ($total > 0) {
        printf("  slow share: %d%%\n", @slow * 100 / $total);
    }

    $i = 0;
    unroll(3) {
        $i++;
    }
    if (@verbose) {
        print(@handler_lat_ns);
        print(@open_lat_us);
        print(@io_calls, 10);
    }
    print(@conn_lat_stats);
    emit((report=@reports, conns=@conns, slow=@slow, goroutines=@goroutines_created));
    clear(@io_calls);
    zero(@switches);
}

interval:ms:250
/@seconds > 3600/
{
    printf("one hour is enough\n");
    exit();
}

END
{
    printf("\n%s: traced for %d ms\n", strftime("%Y-%m-%d %H:%M:%S", nsecs), (nsecs - @start_ns) / 1000000);
    printf("%-20s %10s\n", "metric", "value");
    printf("%-20s %10d\n", "connections", @conns);
    printf("%-20s %10d\n", "accepts", @accepts);
    printf("%-20s %10d\n", "goroutines", @goroutines_created);
    printf("%-20s %10d\n", "malloc calls", @malloc_calls);
    clear(@conn_started);
    clear(@handler_enter);
    clear(@open_start);
    clear(@accept_ts);
    clear(@offcpu_since);
}
