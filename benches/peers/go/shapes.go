package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// yield: the main goroutine and one other call runtime.Gosched in turn.
// ns per yield (elapsed / 2n).
func benchYield() {
	// Two goroutines run the same loop (so both return to the same call site
	// of Gosched) while main waits on the WaitGroup: no third one in the rotation.
	once := func(n int) float64 {
		var wg sync.WaitGroup
		var done int64
		yielder := func() {
			for i := 0; i < n; i++ {
				runtime.Gosched()
			}
			atomic.AddInt64(&done, 1)
			wg.Done()
		}
		wg.Add(2)
		t0 := time.Now()
		go yielder()
		go yielder()
		wg.Wait()
		d := time.Since(t0)
		if atomic.LoadInt64(&done) != 2 {
			fail("yield: a yielder did not finish")
		}
		return nsPer(d, 2*n)
	}
	once(*n / 10)
	v := make([]float64, *runs)
	for r := range v {
		v[r] = once(*n)
	}
	report("yield", "ns/yield", v, "")
}

// chan: unbuffered ping-pong, main <-> echo goroutine. ns per round trip.
func benchChan() {
	once := func(n int) float64 {
		ping, pong := make(chan int64), make(chan int64)
		done := make(chan struct{})
		go func() {
			for v := range ping {
				pong <- v
			}
			close(done)
		}()
		t0 := time.Now()
		for i := int64(0); i < int64(n); i++ {
			ping <- i
			if v := <-pong; v != i {
				fail("chan: sent %d, got back %d", i, v)
			}
		}
		d := time.Since(t0)
		close(ping)
		<-done
		return nsPer(d, n)
	}
	once(*n/10 + 1)
	v := make([]float64, *runs)
	for r := range v {
		v[r] = once(*n)
	}
	report("chan_pingpong", "ns/roundtrip", v, "")
}

// ring: 1000 goroutines, each receiving from its left channel and sending
// to its right one; the token counts the hops down. ns per hop.
func benchRing() {
	const size = 1000
	once := func(hops int) float64 {
		ring := make([]chan int, size)
		for i := range ring {
			ring[i] = make(chan int)
		}
		done := make(chan int)
		var wg sync.WaitGroup
		wg.Add(size)
		for i := 0; i < size; i++ {
			go func(i int, left, right chan int) {
				for t := range left {
					if t == 0 {
						done <- i
					} else {
						right <- t - 1
					}
				}
				wg.Done()
			}(i, ring[i], ring[(i+1)%size])
		}
		t0 := time.Now()
		ring[0] <- hops
		who := <-done
		d := time.Since(t0)
		if who != hops%size {
			fail("ring: token ended at member %d, want %d", who, hops%size)
		}
		for _, c := range ring {
			close(c)
		}
		wg.Wait()
		return nsPer(d, hops)
	}
	once(*n/10 + 1)
	v := make([]float64, *runs)
	for r := range v {
		v[r] = once(*n)
	}
	report("ring", "ns/hop", v, fmt.Sprintf(" goroutines=%d", size))
}

// spawn: chained (each goroutine starts the next and exits) and fan-out
// (main starts n goroutines and waits on a WaitGroup). ns per goroutine,
// after a warm-up run of each.
func benchSpawn() {
	var ran int64
	var wg sync.WaitGroup
	var link func(left int)
	link = func(left int) {
		atomic.AddInt64(&ran, 1)
		if left == 0 {
			wg.Done()
		} else {
			go link(left - 1)
		}
	}
	chained := func(n int) float64 {
		atomic.StoreInt64(&ran, 0)
		wg.Add(1)
		t0 := time.Now()
		go link(n - 1)
		wg.Wait()
		d := time.Since(t0)
		if got := atomic.LoadInt64(&ran); got != int64(n) {
			fail("chained: %d goroutines ran, want %d", got, n)
		}
		return nsPer(d, n)
	}
	leaf := func() {
		atomic.AddInt64(&ran, 1)
		wg.Done()
	}
	fanout := func(n int) float64 {
		atomic.StoreInt64(&ran, 0)
		t0 := time.Now()
		wg.Add(n)
		for i := 0; i < n; i++ {
			go leaf()
		}
		wg.Wait()
		d := time.Since(t0)
		if got := atomic.LoadInt64(&ran); got != int64(n) {
			fail("fanout: %d goroutines ran, want %d", got, n)
		}
		return nsPer(d, n)
	}
	chained(*n)
	fanout(*n)
	c := make([]float64, *runs)
	f := make([]float64, *runs)
	for r := range c {
		c[r] = chained(*n)
		f[r] = fanout(*n)
	}
	extra := fmt.Sprintf(" goroutines=%d", *n)
	report("spawn_chained", "ns/goroutine", c, extra)
	report("spawn_fanout", "ns/goroutine", f, extra)
}

// skynet: github.com/atemerev/skynet, as written there. Each run in a fresh
// process: total ms and peak RSS (getrusage ru_maxrss).
func skynet(c chan int, num, size, div int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	var sum int
	for i := 0; i < div; i++ {
		subNum := num + i*(size/div)
		go skynet(rc, subNum, size/div, div)
	}
	for i := 0; i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func benchSkynet() {
	for s := *n; s > 1; s /= 10 {
		if s%10 != 0 {
			fail("skynet: -n must be a power of 10")
		}
	}
	if *child {
		c := make(chan int)
		t0 := time.Now()
		go skynet(c, 0, *n, 10)
		sum := <-c
		d := time.Since(t0)
		if want := *n * (*n - 1) / 2; sum != want {
			fail("skynet sum %d, want %d", sum, want)
		}
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		fmt.Printf("RESULT ms=%.3f rss_mb=%.2f sum=%d\n", float64(d.Nanoseconds())/1e6, float64(ru.Maxrss)/1024, sum)
		return
	}
	res := spawnChildren("skynet", []string{"ms", "rss_mb"})
	extra := fmt.Sprintf(" leaves=%d", *n)
	report("skynet", "ms", res["ms"], extra)
	report("skynet_rss", "MB", res["rss_mb"], extra)
}

// mutex: G goroutines (4, then 100) increment a counter under one
// sync.Mutex, n in all. ns per lock/unlock pair.
func benchMutex() {
	once := func(g, n int) float64 {
		per := n / g
		var mu sync.Mutex
		var wg sync.WaitGroup
		counter := 0
		t0 := time.Now()
		wg.Add(g)
		for i := 0; i < g; i++ {
			go func() {
				for j := 0; j < per; j++ {
					mu.Lock()
					counter++
					mu.Unlock()
				}
				wg.Done()
			}()
		}
		wg.Wait()
		d := time.Since(t0)
		mu.Lock()
		got := counter
		mu.Unlock()
		if got != per*g {
			fail("mutex: %d goroutines: counter %d, want %d", g, got, per*g)
		}
		return nsPer(d, per*g)
	}
	for _, g := range []int{4, 100} {
		once(g, *n/10+g)
		v := make([]float64, *runs)
		for r := range v {
			v[r] = once(g, *n)
		}
		report(fmt.Sprintf("mutex%d", g), "ns/lock", v, fmt.Sprintf(" goroutines=%d", g))
	}
}

func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, rss int64
	fmt.Sscan(string(b), &size, &rss)
	return rss * int64(os.Getpagesize()) / 1024
}

func mapCount() int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	c := 0
	for _, x := range b {
		if x == '\n' {
			c++
		}
	}
	return c
}

// parked: n goroutines blocked at once on a channel receive; RSS per
// goroutine and mappings. Each run in a fresh process. Go's stacks have no
// guard pages (they are checked in each function's prologue and grow), so
// no "guarded" count is reported.
func benchParked() {
	if *child {
		count := *n
		gate := make(chan struct{})
		var ready, finished sync.WaitGroup
		rss0, maps0 := rssKiB(), mapCount()
		ready.Add(count)
		finished.Add(count)
		for i := 0; i < count; i++ {
			go func() {
				ready.Done()
				if _, ok := <-gate; ok {
					fail("parked: gate sent a value")
				}
				finished.Done()
			}()
		}
		ready.Wait()
		rss1, maps1 := rssKiB(), mapCount()
		alive := runtime.NumGoroutine() - 1
		close(gate)
		finished.Wait()
		fmt.Printf("RESULT parked=%d kb_per=%.3f maps=%d maps_delta=%d\n", alive,
			float64(rss1-rss0)/float64(count), maps1, maps1-maps0)
		return
	}
	res := spawnChildren("parked", []string{"parked", "kb_per", "maps", "maps_delta"})
	extra := fmt.Sprintf(" goroutines=%d", *n)
	report("parked", "goroutines", res["parked"], extra)
	report("parked_rss", "KB/goroutine", res["kb_per"], extra)
	report("parked_maps", "mappings", res["maps"], extra)
	report("parked_maps_delta", "mappings", res["maps_delta"], extra)
}

// durationNs: goroutine i's sleep, uniform in [1 ms, 10 ms), splitmix64 of
// i: the same durations as benches/bench_timers.c.
func durationNs(i uint64) int64 {
	z := (i + 1) * 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return 1000000 + int64(z%9000000)
}

// timers: n goroutines sleep their duration; lateness = wake - (before +
// duration); p50 and p99 in microseconds.
func benchTimers() {
	count := *n
	late := make([]int64, count)
	once := func() (float64, float64) {
		var wg sync.WaitGroup
		wg.Add(count)
		for i := 0; i < count; i++ {
			go func(i int) {
				d := time.Duration(durationNs(uint64(i)))
				t0 := time.Now()
				time.Sleep(d)
				late[i] = int64(time.Since(t0) - d)
				wg.Done()
			}(i)
		}
		wg.Wait()
		sort.Slice(late, func(a, b int) bool { return late[a] < late[b] })
		if late[0] < 0 {
			fail("timers: a goroutine woke %d ns before its deadline", -late[0])
		}
		return float64(late[count/2]) / 1e3, float64(late[count*99/100]) / 1e3
	}
	once()
	p50 := make([]float64, *runs)
	p99 := make([]float64, *runs)
	for r := range p50 {
		p50[r], p99[r] = once()
	}
	extra := fmt.Sprintf(" goroutines=%d", count)
	report("timer_p50", "us", p50, extra)
	report("timer_p99", "us", p99, extra)
}
