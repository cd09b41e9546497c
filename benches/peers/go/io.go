package main

import (
	"fmt"
	"net"
	"os"
	"sort"
	"sync/atomic"
	"syscall"
	"time"
)

// echo: the Go peer of benches/bench_echo.c, a server, not a measurement:
// scripts/bench.sh starts it pinned to one CPU with GOMAXPROCS=1 and
// measures it from outside with benches/peers/c/loadgen. One goroutine per
// connection, each with its own 4 KiB buffer, read then write back, as the
// gort, tokio and plain epoll servers do.
func serveEcho() {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-bench echo: %v\n", err)
		os.Exit(2)
	}
	fmt.Printf("LISTEN port=%d pid=%d impl=go\n", ln.Addr().(*net.TCPAddr).Port, os.Getpid())
	for {
		c, err := ln.Accept()
		if err != nil {
			// Out of descriptors and the like: what net/http does, wait and retry.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		go echoConn(c)
	}
}

func echoConn(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	c.Close()
}

// syscall: what entersyscall+exitsyscall add to a system call.
// syscall.Syscall brackets the call with them (Go 1.19: runtime_entersyscall,
// RawSyscall6, runtime_exitsyscall); syscall.RawSyscall does not. ns per
// pair = time per Syscall(SYS_GETPID) - time per RawSyscall(SYS_GETPID).
// The two loops alternate in 200 chunk pairs per run and a run's figure is
// the median over its pairs of (Syscall chunk - RawSyscall chunk) / calls,
// as in benches/bench_syscall.c.
func benchSyscall() {
	pid := uintptr(os.Getpid())
	raw := func(n int) (time.Duration, uintptr) {
		var sum uintptr
		t0 := time.Now()
		for i := 0; i < n; i++ {
			r, _, _ := syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
			sum += r
		}
		return time.Since(t0), sum
	}
	wrapped := func(n int) (time.Duration, uintptr) {
		var sum uintptr
		t0 := time.Now()
		for i := 0; i < n; i++ {
			r, _, _ := syscall.Syscall(syscall.SYS_GETPID, 0, 0, 0)
			sum += r
		}
		return time.Since(t0), sum
	}
	const chunks = 200
	once := func(n int) (pair, plain, full float64) {
		per := n / chunks
		if per < 1 {
			per = 1
		}
		var tp, tw time.Duration
		diff := make([]float64, chunks)
		for k := 0; k < chunks; k++ {
			var dp, dw time.Duration
			var sp, sw uintptr
			if k%2 == 0 {
				dp, sp = raw(per)
				dw, sw = wrapped(per)
			} else {
				dw, sw = wrapped(per)
				dp, sp = raw(per)
			}
			if sp != uintptr(per)*pid || sw != uintptr(per)*pid {
				fail("syscall: getpid returned something other than %d", pid)
			}
			tp += dp
			tw += dw
			diff[k] = float64(dw.Nanoseconds()-dp.Nanoseconds()) / float64(per)
		}
		plain = nsPer(tp, per*chunks)
		full = nsPer(tw, per*chunks)
		return median(diff), plain, full
	}
	once(*n / 10)
	pair := make([]float64, *runs)
	plain := make([]float64, *runs)
	full := make([]float64, *runs)
	for r := range pair {
		pair[r], plain[r], full[r] = once(*n)
	}
	extra := fmt.Sprintf(" calls=%d raw_ns=%.1f wrapped_ns=%.1f", *n, median(append([]float64(nil), plain...)),
		median(append([]float64(nil), full...)))
	report("syscall_pair", "ns/pair", pair, extra)
}

// spin: a tight loop with no function call in it, so no cooperative
// preemption point: only Go's asynchronous (signal) preemption can take the
// P from it. Same xorshift loop as benches/bench_hog.c.
func spin(iters int64) uint64 {
	x := uint64(0x9E3779B97F4A7C15)
	for i := int64(0); i < iters; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

var spinSink uint64

// spinIters: how many iterations of spin take about ms milliseconds here.
func spinIters(ms int) int64 {
	iters := int64(1 << 20)
	for {
		t0 := time.Now()
		spinSink += spin(iters)
		d := time.Since(t0)
		if d >= 50*time.Millisecond {
			return int64(float64(iters) * float64(ms) * 1e6 / float64(d.Nanoseconds()))
		}
		iters *= 2
	}
}

// hog: at GOMAXPROCS=1, the main goroutine spins in spin() for -n ms
// (1000) while another goroutine sleeps 10 ms in a loop; lateness of each
// wake-up = time asleep - 10 ms. p50 and p99 over a run's wake-ups, in
// microseconds. Checked: no early wake-up, at least one wake-up. Extra
// cpu_per_wall: process CPU time during the spin / its wall time (about 1.0;
// see benches/bench_hog.c).
func cpuNow() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func benchHog() {
	const nap = 10 * time.Millisecond
	iters := spinIters(*n)
	once := func(iters int64) (p50, p99 float64, wakeups int, hogMs, util float64) {
		var hogDone int32
		var late []int64
		started := make(chan struct{})
		finished := make(chan struct{})
		go func() {
			close(started)
			for atomic.LoadInt32(&hogDone) == 0 {
				t0 := time.Now()
				time.Sleep(nap)
				late = append(late, int64(time.Since(t0)-nap))
			}
			close(finished)
		}()
		// The sleeper readies main and goes on into its first sleep before
		// main runs again (one P): the hog starts with the sleeper asleep.
		<-started
		c0 := cpuNow()
		t0 := time.Now()
		spinSink += spin(iters)
		wall := time.Since(t0)
		hogMs = float64(wall.Nanoseconds()) / 1e6
		util = (cpuNow() - c0) / wall.Seconds()
		atomic.StoreInt32(&hogDone, 1)
		<-finished
		if len(late) == 0 {
			fail("hog: the sleeper never woke up")
		}
		sort.Slice(late, func(a, b int) bool { return late[a] < late[b] })
		if late[0] < 0 {
			fail("hog: a sleep ended %d ns early", -late[0])
		}
		return float64(late[len(late)/2]) / 1e3, float64(late[len(late)*99/100]) / 1e3, len(late), hogMs, util
	}
	once(iters / 10)
	p50 := make([]float64, *runs)
	p99 := make([]float64, *runs)
	wk := make([]float64, *runs)
	hm := make([]float64, *runs)
	ut := make([]float64, *runs)
	for r := range p50 {
		var w int
		p50[r], p99[r], w, hm[r], ut[r] = once(iters)
		wk[r] = float64(w)
	}
	extra := fmt.Sprintf(" hog_ms=%.0f wakeups=%.0f sleep_ms=10 cpu_per_wall=%.2f", median(hm), median(wk), median(ut))
	report("hog_p50", "us", p50, extra)
	report("hog_p99", "us", p99, extra)
}
