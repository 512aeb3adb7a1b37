// Command benchtable reads `go test -bench -benchmem -count N` output on
// standard input and prints a Markdown table of medians: for each
// benchmark, every peer's median ns/op, B/op and allocs/op, and its time as
// a multiple of bulwark's in the same run.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// line matches a result line: name-GOMAXPROCS, iterations, then metrics.
var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

type samples struct{ ns, bytes, allocs []float64 }

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	byName := map[string]*samples{}
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		s := byName[m[1]]
		if s == nil {
			s = &samples{}
			byName[m[1]] = s
			order = append(order, m[1])
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				s.ns = append(s.ns, v)
			case "B/op":
				s.bytes = append(s.bytes, v)
			case "allocs/op":
				s.allocs = append(s.allocs, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(order) == 0 {
		return fmt.Errorf("no benchmark results on standard input")
	}
	fmt.Fprintln(out, "| benchmark | peer | ns/op | B/op | allocs/op | time vs bulwark |")
	fmt.Fprintln(out, "|---|---|--:|--:|--:|--:|")
	for _, name := range order {
		group, peer := name, ""
		if i := strings.LastIndex(name, "/"); i >= 0 {
			group, peer = name[:i], name[i+1:]
		}
		s := byName[name]
		ratio := ""
		if base := byName[group+"/bulwark"]; base != nil && peer != "bulwark" && median(base.ns) > 0 {
			ratio = fmt.Sprintf("%.1f×", median(s.ns)/median(base.ns))
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s |\n", strings.TrimPrefix(group, "Benchmark"), peer,
			format(median(s.ns)), format(median(s.bytes)), format(median(s.allocs)), ratio)
	}
	return nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func format(v float64) string {
	if v >= 100 || v == float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
