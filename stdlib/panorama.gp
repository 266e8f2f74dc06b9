// panorama: one row per interval of the Go runtime's signals next to the kernel's, for one process, with hints
//
// Run:  gprobe --recipe panorama -p PID [SECONDS] [INTERVAL_MS] [HINT_GOROUTINES] [HINT_SWITCHES] [HINT_PAUSE_US] [HINT_MAJFLT] [HINT_SOFTIRQ_PCT]
//
// Go's side, from the runtime's own functions: goroutines alive (`gor`: the runtime's own count,
// as runtime/metrics' /sched/goroutines:goroutines reports it, read from its globals at the first
// goroutine state change after attach, then moved by creations and exits, `runtime.casgstatus`
// from dead to runnable/waiting and running to dead, as goroutine-leaks counts them; a stripped
// binary has no symbols for those globals: there it is created − exited since tracing started,
// with -p short of the goroutines that were there before; in a cgo program the extra Ms'
// goroutines for C threads that call Go count as runtime/metrics counts them, from
// `runtime.oneNewExtraM` and their state changes), scheduler delay (`gsched`: runnable → running in `casgstatus`, as
// sched-latency), GC cycles (`runtime.gcMarkTermination`), stop-the-world pause total and max
// (`stw`, timed where the runtime times `MemStats.PauseNs`, as gc-pauses), mark-assist time
// (`assist`: `runtime.gcAssistAlloc1`, as gc-cpu). The kernel's side, for the target's threads:
// voluntary and involuntary context switches per second (`sched:sched_switch`: a thread leaving
// the CPU preempted or still runnable is involuntary, as the kernel counts
// `nonvoluntary_ctxt_switches`), run-queue delay (`rq`: from `sched_wakeup`/`sched_wakeup_new`,
// or the involuntary switch-out, to the switch-in), CPU migrations per second
// (`sched:sched_migrate_task`), minor and major page faults per second (the software perf events
// `minor-faults`/`major-faults`, every one, the figures of /proc/PID/stat), TCP retransmits of
// the target's sockets (`tcp:tcp_retransmit_skb` of a socket the target sent or received on,
// `sock:sock_send_length`/`sock_recv_length`, or connected: `sock:inet_sock_set_state`), and `softirq`: the share of the target's on-CPU
// time that softirqs took, on the CPUs while the target's threads ran (not softirqs run in
// ksoftirqd or on other CPUs). Percentiles (p50, p99 of the interval's delays) are the upper
// edge of a log2 bucket in µs, exclusive: 4 is 2–3 µs, 1 is 0 µs; 0 when there was none.
//
// A hint follows a row when a combination holds (thresholds are parameters):
// - goroutines ≥ HINT_GOROUTINES and context switches ≥ HINT_SWITCHES/s: many goroutines that
//   keep waking threads — look for netpoll blocking or busy select loops;
// - a stop-the-world pause ≥ HINT_PAUSE_US with ≥ HINT_MAJFLT major faults in the same
//   interval: the pauses wait on paging — check transparent huge pages and memory pressure;
// - softirq ≥ HINT_SOFTIRQ_PCT % of the target's CPU time: network interrupts steal it — check
//   NIC IRQ affinity/NAPI.
// At the end, the totals of the run (the counters below), which `--prometheus`/`--otlp`
// export, with `@goroutines` and the last interval's figures as gauges. Costs: a uprobe on
// `casgstatus` (every goroutine state change: the goroutine and scheduler columns need it), the
// GC's own functions, and the kernel's scheduler, fault and softirq events system-wide, each
// filtered to the target first.
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
// @param $2 INTERVAL_MS=1000 one row every INTERVAL_MS milliseconds
// @param $3 HINT_GOROUTINES=5000 goroutines for the first hint
// @param $4 HINT_SWITCHES=2000 context switches per second (voluntary + involuntary) for the first hint
// @param $5 HINT_PAUSE_US=1000 a stop-the-world pause of this many µs for the second hint
// @param $6 HINT_MAJFLT=10 major faults in one interval for the second hint
// @param $7 HINT_SOFTIRQ_PCT=40 softirq share of the target's CPU time for the third hint
//
// Only the maps declared here are exported (not the working maps: the interval's counters and buckets).
// @metrics declared
// @metric @goroutines go.goroutines unit={goroutine} desc="Goroutines alive (the runtime's count; created minus exited since tracing started on a stripped binary)."
// @metric @goroutines_created go.goroutines.created unit={goroutine} desc="Goroutines created."
// @metric @goroutines_exited go.goroutines.exited unit={goroutine} desc="Goroutines exited."
// @metric @gc_cycles go.gc.cycles unit={cycle} desc="Completed GC cycles."
// @metric @stw_pause_us go.gc.pause.duration unit=us desc="Stop-the-world GC pause time."
// @metric @mark_assist_us go.gc.mark_assist.duration unit=us desc="Time goroutines spent in GC mark assists."
// @metric @voluntary_switches process.context_switches.voluntary unit={switch} desc="Voluntary context switches of the process's threads."
// @metric @involuntary_switches process.context_switches.involuntary unit={switch} desc="Involuntary context switches of the process's threads."
// @metric @migrations process.cpu.migrations unit={migration} desc="CPU migrations of the process's threads."
// @metric @minor_faults process.paging.faults.minor unit={fault} desc="Minor page faults of the process."
// @metric @major_faults process.paging.faults.major unit={fault} desc="Major page faults of the process."
// @metric @tcp_retransmits process.tcp.retransmits unit={segment} desc="TCP retransmits on the process's sockets."
// @metric @sched_delay_p99_us go.schedule.delay.p99 unit=us desc="Goroutine scheduling delay, p99 of the last interval (log2 bucket edge)."
// @metric @runqueue_delay_p99_us process.runqueue.delay.p99 unit=us desc="Run-queue delay of the process's threads, p99 of the last interval (log2 bucket edge)."
// @metric @softirq_permille process.cpu.softirq.share unit={permille} desc="Share of the process's on-CPU time spent in softirqs, last interval."
//
// Sample output (Go 1.27.3 examples/shop, DWARF, `-p`, the load started as tracing did;
// examples/load -paths /alloc,/fast,/leak,/cpu,/sleep -n 200 -c 2, 2 CPUs; parameters
// 9 1000 200 1000: the first hint from 200 goroutines and 1,000 switches/s):
//   time        gor   +gor   -gor   gsch50   gsch99  gc   stw_us   stwmax   assist |  vcsw/s  icsw/s     rq99 migr/s  minf/s majf/s  rtx softirq
//   21:35:13    207    497    414        4     1024  42    10798     1325     8714 |    1657     825     2048    180     803      0    0     1.0%
//     hint: 207 goroutines and 2482 context switches/s: look for netpoll blocking or busy select loops
//   21:35:14    208     31     30        4      256   3      361      128      867 |     129      30     1024     24       0      0    0     1.0%
//   (... idle rows ...)
//
//   @gc_cycles: 45
//   @goroutines: 208
//   @goroutines_created: 528
//   @goroutines_exited: 444
//   @involuntary_switches: 863
//   @major_faults: 0
//   @mark_assist_us: 9581
//   @migrations: 206
//   @minor_faults: 811
//   @runqueue_delay_p99_us: 0
//   @sched_delay_p99_us: 0
//   @softirq_permille: 0
//   @stw_pause_us: 11159
//   @tcp_retransmits: 0
//   @voluntary_switches: 1802
// (/leak leaves a goroutine per request: 200 of the 208; `gor` counts the 124 there when the
// level was read, the first /leak ones among them, which created − exited (528 − 444) misses;
// /alloc makes ~40 GC cycles a second, whose sweep terminations wait for Ps busy in /cpu; the
// hint fires while 207 goroutines and 2,482 switches/s coincide)

#include <linux/sched.h>

// The runtime's goroutine count, as runtime/metrics' /sched/goroutines:goroutines reads it
// (`gcount()`: every G ever made, less the dead ones on the free lists, less the runtime's own
// before Go 1.26), from the globals `allglen`, `sched` and `allp` the symbol table names and
// DWARF lays out; read in the target's own probe, where its memory is the current one (in a
// position-independent binary `uaddr` adds the load bias). A stripped binary has neither: its
// level is created − exited since tracing started.
#if defined(__GO_DWARF__)
#if __GO_VERSION__ >= 125
#define SCHED_FREE(s) ((s)->gFree.stack.size + (s)->gFree.noStack.size)
#define P_FREE(p) ((p)->gFree.size)
#else
#define SCHED_FREE(s) ((s)->gFree.n)
#define P_FREE(p) ((p)->gFree.n)
#endif
#if __GO_VERSION__ >= 126
#define SYSTEM(s) 0
#elif __GO_VERSION__ >= 120
// (an atomic.Int32 from 1.20, with the runtime's other scheduler counters: so in the sources
// of 1.21 to 1.25, and tested on 1.23 and 1.25; no 1.20 toolchain was at hand)
#define SYSTEM(s) ((s)->ngsys.value)
#else
#define SYSTEM(s) ((s)->ngsys)
#endif
#endif

// The log2 bucket of a delay in µs: 0 for 0, else floor(log2(v)) + 1, so bucket b holds
// [2^(b-1), 2^b) and its upper edge is 1 << b.
#define B1(v) ((v) >= (1 << 1) ? 1 : 0)
#define B2(v) ((v) >= (1 << 2) ? 2 + B1((v) >> 2) : B1(v))
#define B4(v) ((v) >= (1 << 4) ? 4 + B2((v) >> 4) : B2(v))
#define B8(v) ((v) >= (1 << 8) ? 8 + B4((v) >> 8) : B4(v))
#define B16(v) ((v) >= (1 << 16) ? 16 + B8((v) >> 16) : B8(v))
#define BUCKET(v) ((v) == 0 ? 0 : 1 + B16(v))

BEGIN
{
    @row_at = nsecs;
    @goroutines = 0;
    @gs = 0;
    @gsys = 0;
    @gcount_unread = 1;
    printf("%-8s %6s %6s %6s %8s %8s %3s %8s %8s %8s | %7s %7s %8s %6s %7s %6s %4s %7s\n",
           "time", "gor", "+gor", "-gor", "gsch50", "gsch99", "gc", "stw_us", "stwmax", "assist",
           "vcsw/s", "icsw/s", "rq99", "migr/s", "minf/s", "majf/s", "rtx", "softirq");
}

// ---- Go: goroutines and their scheduling delay (one program: casgstatus is hot) ----
uprobe:runtime.casgstatus
{
    $old = args.oldval;
    $new = args.newval;
    $moved = 0;
    $exiting = 0;
    if ($old == 6 && ($new == 1 || $new == 4)) {
        @gs += 1;
        @goroutines_created = count();
        @iv_created += 1;
        $moved = 1;
    } else if ($old == 2 && $new == 6) {
        @gs -= 1;
        @goroutines_exited = count();
        @iv_exited += 1;
        $exiting = 1;
        $moved = 1;
    }
#if defined(__GO_DWARF__)
    // At the first change after attach, `@gs` is every live G, from the runtime's globals (a
    // creation is already counted there, an exit not yet taken off); then creations and exits
    // move it. Read once: a read races the other threads' creations and exits (a G between
    // leaving a free list and its first state change counts twice), so once, at attach, it is
    // off by those few at most, not by a few more every row.
    $sched = (struct "runtime.schedt" *)uaddr("runtime.sched");
    if (@gcount_unread) {
        @gcount_unread = 0;
        $n = *uaddr("runtime.allglen") - SCHED_FREE($sched);
        $allp = uaddr("runtime.allp");
        $ps = (uint64 *)*$allp;
        $np = *($allp + 1);
        // Up to 1,000 Ps (a `while` stops after 100 rounds).
        $i = 0;
        unroll (10) {
            $j = 0;
            while ($i < $np && $j < 100) {
                $n -= P_FREE((struct "runtime.p" *)$ps[$i]);
                $i++;
                $j++;
            }
        }
        @gs = $n - $exiting;
        $moved = 1;
    }
    // The runtime's own, as counted now (a system goroutine is counted before its first state
    // change, and rarely exits), taken off where the level is shown: `@gs` only moves by
    // atomic adds, so no CPU's older store can land after a newer one.
    $sys_to_come = 0;
#if __GO_VERSION__ < 126
    // cgo: a C thread's call into Go takes an extra M's goroutine (needm: dead → syscall, then
    // ngsys − 1: it counts while in use) and gives it back (dropm: syscall → dead, then
    // ngsys + 1). From 1.26 these are `_Gdeadextra` and count either way.
    if ($old == 6 && $new == 3) {
        $sys_to_come = -1;
        $moved = 1;
    } else if ($old == 3 && $new == 6) {
        $sys_to_come = 1;
        $moved = 1;
    }
#endif
    if ($moved) {
        @gsys = SYSTEM($sched) + $sys_to_come;
    }
#endif
    if ($new == 1) {
        @runnable_since[args.gp] = nsecs;
    } else if ($old == 1 && $new == 2 && @runnable_since[args.gp]) {
        $us = (nsecs - @runnable_since[args.gp]) / 1000;
        @gsched[BUCKET($us)] += 1;
        @gsched_n += 1;
        delete(@runnable_since[args.gp]);
    } else if ($new == 6) {
        delete(@runnable_since[args.gp]);
    }
}

#if defined(__GO_DWARF__)
// cgo: the runtime makes an extra M, with a goroutine, for C threads that call Go (at start and
// when they run out), without a state change `casgstatus` above would count: one more G, and
// before 1.26 one more of the runtime's own (its ngsys + 1 is to come). Rare.
uprobe:runtime.oneNewExtraM
{
    @gs += 1;
#if __GO_VERSION__ < 126
    @gsys = SYSTEM((struct "runtime.schedt" *)uaddr("runtime.sched")) + 1;
#endif
}
#endif

// ---- Go: GC cycles, stop-the-world pauses (gc-pauses' timing), mark assists ----
uprobe:runtime.gcMarkTermination
{
    @gc_cycles = count();
    @iv_gc += 1;
}

// @if go >= 1.22
// startTheWorldWithSema(now int64, w worldStop): w.reason in RBX, w.startedStopping in RCX;
// the function returns the pause's end as the runtime counts it.
uprobe:runtime.startTheWorldWithSema
{
    @stw_start = reg("rcx");
    $reason = reg("rbx") & 0xff;
    @stw_gc = $reason == 1 || $reason == 2;
}
// @else
uprobe:runtime.gcStart
{
    @gc_phase[goid] = 1;
}

uprobe:runtime.gcMarkDone
{
    @gc_phase[goid] = 2;
}

uretprobe:runtime.gcStart,
uretprobe:runtime.gcMarkDone
{
    delete(@gc_phase[goid]);
}

uprobe:runtime.stopTheWorldWithSema
{
    @stw_start = nsecs;
    @stw_gc = @gc_phase[goid] != 0;
    @stw_mark = @gc_phase[goid] == 2;
}

// @if func runtime.(*gcCPULimiterState).finishGCTransition
uprobe:"runtime.(*gcCPULimiterState).finishGCTransition"
/@stw_start && @stw_mark/
{
    @stw_end = reg("rbx");
}
// @else
uretprobe:runtime.gcControllerCommit
/@stw_start && @stw_mark/
{
    @stw_end = nsecs;
}
// @end
// @end

uretprobe:runtime.startTheWorldWithSema
/@stw_start/
{
    $end = @stw_end ? @stw_end : retval;
    $us = ($end - @stw_start) / 1000;
    // GC pauses only, as MemStats.PauseTotalNs.
    if (@stw_gc) {
        @stw_pause_us = sum($us);
        @iv_stw_us += $us;
        if ($us > @iv_stw_max) {
            @iv_stw_max = $us;
        }
    }
    @stw_start = 0;
    @stw_end = 0;
}

uprobe:runtime.gcAssistAlloc1
{
    @assist_at[goid] = nsecs;
}

uretprobe:runtime.gcAssistAlloc1
/@assist_at[goid]/
{
    $us = (nsecs - @assist_at[goid]) / 1000;
    @mark_assist_us = sum($us);
    @iv_assist_us += $us;
    delete(@assist_at[goid]);
}

// ---- Kernel: the target's threads on and off the CPUs ----
// sched_switch runs as the thread leaving (`pid` is its process): preempted (prev_state
// TASK_REPORT_MAX, 0x100) or leaving while TASK_RUNNING (a yield) is what the kernel counts as
// an involuntary switch; any other state is a voluntary one.
tracepoint:sched:sched_switch
/pid == tpid/
{
    @tids[tid] = 1;
    if ((args.prev_state & 0xff) == TASK_RUNNING) {
        @involuntary_switches = count();
        @iv_icsw += 1;
        // Still runnable: back in the run queue from now.
        @rq_since[tid] = nsecs;
    } else {
        @voluntary_switches = count();
        @iv_vcsw += 1;
    }
    if (@on_since[cpu]) {
        @iv_on_ns += nsecs - @on_since[cpu];
        @on_since[cpu] = 0;
    }
}

tracepoint:sched:sched_switch
/@tids[args.next_pid]/
{
    @on_since[cpu] = nsecs;
    if (@rq_since[args.next_pid]) {
        $us = (nsecs - @rq_since[args.next_pid]) / 1000;
        @rq[BUCKET($us)] += 1;
        @rq_n += 1;
        delete(@rq_since[args.next_pid]);
    }
}

tracepoint:sched:sched_wakeup
/@tids[args.pid]/
{
    @rq_since[args.pid] = nsecs;
}

// A new thread of the target (its creator is the target).
tracepoint:sched:sched_wakeup_new
/pid == tpid/
{
    @tids[args.pid] = 1;
    @rq_since[args.pid] = nsecs;
}

tracepoint:sched:sched_process_exit
/pid == tpid/
{
    delete(@tids[tid]);
    delete(@rq_since[tid]);
}

tracepoint:sched:sched_migrate_task
/@tids[args.pid]/
{
    @migrations = count();
    @iv_migr += 1;
}

software:minor-faults:1
/pid == tpid/
{
    @minor_faults = count();
    @iv_minflt += 1;
}

software:major-faults:1
/pid == tpid/
{
    @major_faults = count();
    @iv_majflt += 1;
}

// Softirqs run in the context of the task they interrupt: those on a CPU while a target
// thread is on it take the target's time.
tracepoint:irq:softirq_entry
/@on_since[cpu]/
{
    @si_since[cpu] = nsecs;
}

tracepoint:irq:softirq_exit
/@si_since[cpu]/
{
    @iv_si_ns += nsecs - @si_since[cpu];
    @si_since[cpu] = 0;
}

// ---- Kernel: TCP retransmits of the target's sockets ----
// TCP (IPPROTO_TCP, 6) only: other sockets are never destroyed as TCP ones, so would stay.
tracepoint:sock:sock_send_length,
tracepoint:sock:sock_recv_length
/pid == tpid && args.protocol == 6/
{
    @socks[args.sk] = 1;
}

// A connect(2) of the target: its SYN may be retransmitted before anything is sent.
tracepoint:sock:inet_sock_set_state
/pid == tpid && args.protocol == 6/
{
    @socks[args.skaddr] = 1;
}

tracepoint:tcp:tcp_retransmit_skb
/@socks[args.skaddr]/
{
    @tcp_retransmits = count();
    @iv_rtx += 1;
}

tracepoint:tcp:tcp_destroy_sock
/@socks[args.skaddr]/
{
    delete(@socks[args.skaddr]);
}

// ---- One row per interval, and its hints ----
interval:ms:$2
{
    $dt = nsecs - @row_at;
    @row_at = nsecs;

    // Percentiles of the two delay histograms: a pass for the totals, then the p-th
    // percentile's bucket is the number of buckets whose running total stays below p % of
    // the total (the running total only grows), counted without branches (the sign bit of
    // the difference) so the verifier sees one path.
    $gn = 0;
    $rn = 0;
    $i = 0;
    unroll (32) {
        $gn += @gsched[$i];
        $rn += @rq[$i];
        $i++;
    }
    $g50 = 0;
    $g99 = 0;
    $r99 = 0;
    $gc = 0;
    $rc = 0;
    $i = 0;
    unroll (32) {
        $gc += @gsched[$i];
        $rc += @rq[$i];
        $g50 += (($gc * 2 - $gn) >> 63) & 1;
        $g99 += (($gc * 100 - $gn * 99) >> 63) & 1;
        $r99 += (($rc * 100 - $rn * 99) >> 63) & 1;
        $i++;
    }
    // The upper edges, 0 without samples. No branch on a value the walk summed: that would
    // make the verifier tell its paths apart (and walk each).
    $ghas = @gsched_n != 0 ? 1 : 0;
    $rhas = @rq_n != 0 ? 1 : 0;
    $g50 = (1 << $g50) * $ghas;
    @sched_delay_p99_us = (1 << $g99) * $ghas;
    @runqueue_delay_p99_us = (1 << $r99) * $rhas;
    clear(@gsched);
    clear(@rq);
    @gsched_n = 0;
    @rq_n = 0;

    $vcsw = @iv_vcsw * 1000000000 / $dt;
    $icsw = @iv_icsw * 1000000000 / $dt;
    $permille = @iv_on_ns ? @iv_si_ns * 1000 / @iv_on_ns : 0;
    $permille = $permille > 1000 ? 1000 : $permille;
    @softirq_permille = $permille;

    @goroutines = @gs - @gsys;
    printf("%s %6d %6d %6d %8d %8d %3d %8d %8d %8d | %7d %7d %8d %6d %7d %6d %4d %5d.%d%%\n",
           strftime("%H:%M:%S", nsecs), @goroutines, @iv_created, @iv_exited,
           $g50, @sched_delay_p99_us,
           @iv_gc, @iv_stw_us, @iv_stw_max, @iv_assist_us,
           $vcsw, $icsw, @runqueue_delay_p99_us,
           @iv_migr * 1000000000 / $dt, @iv_minflt * 1000000000 / $dt,
           @iv_majflt * 1000000000 / $dt, @iv_rtx, $permille / 10, $permille % 10);

    if (@goroutines >= $3 && $vcsw + $icsw >= $4) {
        printf("  hint: %d goroutines and %d context switches/s: look for netpoll blocking or busy select loops\n",
               @goroutines, $vcsw + $icsw);
    }
    if (@iv_stw_max >= $5 && @iv_majflt >= $6) {
        printf("  hint: a %d us GC pause with %d major faults: check transparent huge pages and memory pressure\n",
               @iv_stw_max, @iv_majflt);
    }
    if ($permille >= $7 * 10) {
        printf("  hint: softirq took %d.%d%% of the CPU time: check NIC IRQ affinity/NAPI\n",
               $permille / 10, $permille % 10);
    }

    @iv_created = 0;
    @iv_exited = 0;
    @iv_gc = 0;
    @iv_stw_us = 0;
    @iv_stw_max = 0;
    @iv_assist_us = 0;
    @iv_vcsw = 0;
    @iv_icsw = 0;
    @iv_migr = 0;
    @iv_minflt = 0;
    @iv_majflt = 0;
    @iv_rtx = 0;
    @iv_on_ns = 0;
    @iv_si_ns = 0;
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    clear(@runnable_since);
    clear(@assist_at);
    clear(@tids);
    clear(@rq_since);
    clear(@on_since);
    clear(@si_since);
    clear(@socks);
    clear(@gsched);
    clear(@rq);
    delete(@gsched_n);
    delete(@rq_n);
    // @if go < 1.22
    clear(@gc_phase);
    delete(@stw_mark);
    // @end
    delete(@stw_start);
    delete(@stw_end);
    delete(@stw_gc);
    delete(@row_at);
    delete(@iv_created);
    delete(@iv_exited);
    delete(@iv_gc);
    delete(@iv_stw_us);
    delete(@iv_stw_max);
    delete(@iv_assist_us);
    delete(@iv_vcsw);
    delete(@iv_icsw);
    delete(@iv_migr);
    delete(@iv_minflt);
    delete(@iv_majflt);
    delete(@iv_rtx);
    delete(@iv_on_ns);
    delete(@iv_si_ns);
    @goroutines = @gs - @gsys;
    delete(@gcount_unread);
    delete(@gs);
    delete(@gsys);
}
