// Command ceilings measures this machine's limits that bound a broker on it,
// so the harness can report each Samsa figure as a fraction of its ceiling:
//
//	fsync      sequential 1 MiB writes, fsync after each (durable produce)
//	pcwrite    sequential 1 MiB writes to the page cache, no sync (page-cache produce)
//	pcread     sequential 1 MiB reads of a file in the page cache (consume)
//	tcp        one loopback TCP stream, 1 MiB writes and reads (client <-> broker)
//
// Each is one pass over --size-mib MiB; it prints one JSON object in MiB/s.
// Files go in --dir, which must be on the disk the brokers use.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

const mib = 1 << 20

func main() {
	dir := flag.String("dir", os.TempDir(), "directory on the disk under test")
	sizeMiB := flag.Int("size-mib", 1024, "bytes per measurement, MiB")
	flag.Parse()
	res := map[string]float64{}
	var err error
	if res["fsync_mib_s"], err = writeFile(*dir, *sizeMiB, true); err == nil {
		if res["pcwrite_mib_s"], err = writeFile(*dir, *sizeMiB, false); err == nil {
			if res["pcread_mib_s"], err = readFile(*dir, *sizeMiB); err == nil {
				res["tcp_mib_s"], err = loopback(*sizeMiB * 4)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceilings:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// writeFile writes sizeMiB MiB to a new file, fsyncing after every MiB when
// sync is set, and returns MiB/s (the final fsync included either way would
// be unfair to the page-cache figure, so it is left out there).
func writeFile(dir string, sizeMiB int, sync bool) (float64, error) {
	f, err := os.CreateTemp(dir, "ceiling-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, mib)
	for i := range buf {
		buf[i] = byte(i*7 + 3)
	}
	start := time.Now()
	for range sizeMiB {
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if sync {
			if err := f.Sync(); err != nil {
				return 0, err
			}
		}
	}
	return rate(sizeMiB, time.Since(start)), nil
}

// readFile writes a file without syncing, reads it once to be sure it is
// cached, and returns the MiB/s of a second sequential read.
func readFile(dir string, sizeMiB int) (float64, error) {
	name := filepath.Join(dir, fmt.Sprintf("ceiling-read-%d", os.Getpid()))
	defer os.Remove(name)
	f, err := os.Create(name)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, mib)
	for range sizeMiB {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return 0, err
		}
	}
	f.Close()
	var d time.Duration
	for range 2 {
		f, err := os.Open(name)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		for {
			_, err := f.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return 0, err
			}
		}
		d = time.Since(start)
		f.Close()
	}
	return rate(sizeMiB, d), nil
}

// loopback sends sizeMiB MiB over one loopback TCP connection with 1 MiB
// write() calls and reads it with 1 MiB read() calls (no sendfile).
func loopback(sizeMiB int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, mib)
		for range sizeMiB {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, mib)
	start := time.Now()
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, buf)
	if err != nil {
		return 0, err
	}
	if n != int64(sizeMiB)*mib {
		return 0, fmt.Errorf("loopback: read %d of %d bytes", n, int64(sizeMiB)*mib)
	}
	return rate(sizeMiB, time.Since(start)), nil
}
