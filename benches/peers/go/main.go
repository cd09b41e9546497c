// The Go peer of gort's benchmarks (benches/*.c): the same shapes, the same
// sizes, the same checks, printing the same BENCH lines with impl=go.
//
//	go build -o go-bench .
//	GOMAXPROCS=2 ./go-bench yield [-runs R] [-n N]
//	GOMAXPROCS=1 ./go-bench [-port P] echo    (a server: see io.go)
//
// Standard library only, default runtime settings (GOGC, GOMAXPROCS from
// the environment). There is no raw context switch shape: Go has no
// user-level switch to call.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	runs  = flag.Int("runs", 0, "measured runs (0: the shape's default)")
	n     = flag.Int("n", 0, "size of the shape (0: the shape's default)")
	child = flag.Bool("child", false, "internal: one run in this process, print RESULT")
	port  = flag.Int("port", 0, "echo: the port to listen on (0: a free one)")
)

type shape struct {
	runs int
	n    int
	run  func()
}

var shapes = map[string]shape{
	"yield":  {7, 2000000, benchYield},
	"chan":   {7, 500000, benchChan},
	"ring":   {7, 1000000, benchRing},
	"spawn":  {7, 100000, benchSpawn},
	"skynet": {3, 1000000, benchSkynet},
	"mutex":  {7, 1000000, benchMutex},
	"parked": {1, 1000000, benchParked},
	"timers": {5, 100000, benchTimers},
	// io.go
	"echo":    {1, 1, serveEcho},
	"syscall": {5, 10000000, benchSyscall},
	"hog":     {5, 1000, benchHog},
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL go-bench: "+format+"\n", args...)
	os.Exit(1)
}

func median(v []float64) float64 {
	sort.Float64s(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}

// report prints the BENCH line of one metric over the runs.
func report(name, unit string, v []float64, extra string) {
	med := median(v)
	fmt.Printf("BENCH name=%s procs=%d impl=go unit=%s median=%.6g runs=%d min=%.6g max=%.6g%s\n",
		name, runtime.GOMAXPROCS(0), unit, med, len(v), v[0], v[len(v)-1], extra)
}

func nsPer(d time.Duration, ops int) float64 { return float64(d.Nanoseconds()) / float64(ops) }

// spawnChildren runs this program again with -child once per run, each in
// a fresh process, and returns the values of keys from each child's
// "RESULT k=v ..." line.
func spawnChildren(shapeName string, keys []string) map[string][]float64 {
	exe, err := os.Executable()
	if err != nil {
		fail("os.Executable: %v", err)
	}
	out := map[string][]float64{}
	for r := 0; r < *runs; r++ {
		cmd := exec.Command(exe, "-child", "-n", strconv.Itoa(*n), shapeName)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.Output()
		if err != nil {
			fail("%s child run %d: %v", shapeName, r, err)
		}
		var result string
		sc := bufio.NewScanner(strings.NewReader(string(stdout)))
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "RESULT ") {
				result = sc.Text()
			} else {
				fmt.Println(sc.Text())
			}
		}
		fields := map[string]string{}
		for _, f := range strings.Fields(result)[1:] {
			if kv := strings.SplitN(f, "=", 2); len(kv) == 2 {
				fields[kv[0]] = kv[1]
			}
		}
		for _, k := range keys {
			v, err := strconv.ParseFloat(fields[k], 64)
			if err != nil {
				fail("%s child run %d: no %s in %q", shapeName, r, k, result)
			}
			out[k] = append(out[k], v)
		}
	}
	return out
}

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-runs R] [-n N] [-port P] yield|chan|ring|spawn|skynet|mutex|parked|timers|echo|syscall|hog\n", os.Args[0])
		os.Exit(2)
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
	}
	s, ok := shapes[flag.Arg(0)]
	if !ok {
		flag.Usage()
	}
	if *runs <= 0 {
		*runs = s.runs
	}
	if *n <= 0 {
		*n = s.n
	}
	s.run()
}
