package storage

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// fillKeyed writes about mib MiB of uncompressed batches of 16 records with
// 1 KiB values and keys drawn uniformly from keys distinct ones, to 64 MiB
// segments.
func fillKeyed(b *testing.B, l *Log, mib, keys int) {
	rng := rand.New(rand.NewPCG(1, 1))
	value := make([]byte, 1024)
	recs := make([]kv, 16)
	var written int64
	for written < int64(mib)<<20 {
		for i := range recs {
			recs[i] = kv{key: []byte(fmt.Sprintf("key-%08d", rng.IntN(keys))), value: value}
		}
		res := mustAppend(b, l, keyedBatch(b, recs, testNow.UnixMilli(), record.CompressionNone, false, -1, 0), 0)
		written = res.End.FilePos + int64(len(l.Segments())-1)*(64<<20)
	}
	// Roll so that everything written is cleanable.
	mustAppend(b, l, keyedBatch(b, []kv{{key: []byte("last"), value: value}}, testNow.Add(time.Hour).UnixMilli(), 0, false, -1, 0), 0)
	l.mu.Lock()
	err := l.roll(testNow, l.leo)
	l.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
}

// readOnce reads every segment file sequentially with 1 MiB reads: the
// floor for any pass over the log.
func readOnce(b *testing.B, l *Log) int64 {
	var n int64
	buf := make([]byte, 1<<20)
	for _, s := range l.Segments() {
		f, err := os.Open(s.Path)
		if err != nil {
			b.Fatal(err)
		}
		for {
			k, err := f.Read(buf)
			n += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
	return n
}

// BenchmarkClean compacts SAMSA_BENCH_CLEAN_MIB MiB (default 64) written
// with SAMSA_BENCH_CLEAN_KEYS distinct keys (default 100000), and reports
// the time of one sequential read of the same log from page cache
// (read-ms) and the ratio clean/read (x-read). The target is
// 1 GiB with 100k keys within 2x a read:
//
//	SAMSA_BENCH_CLEAN_MIB=1024 go test ./internal/storage -run XXX -bench Clean -benchtime 1x
func BenchmarkClean(b *testing.B) {
	mib := envInt("SAMSA_BENCH_CLEAN_MIB", 64)
	keys := envInt("SAMSA_BENCH_CLEAN_KEYS", 100000)
	b.ReportAllocs()
	var readTime, cleanTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := compactConfig()
		c.SegmentBytes, c.IndexIntervalBytes, c.SegmentIndexBytes = 64<<20, 4096, 10<<20
		c.FileDeleteDelay = time.Minute // Kafka's default: old segments are unlinked later, in the background
		_, l := newTestLog(b, c)
		fillKeyed(b, l, mib, keys)
		// The segments a cleaner reads were written long before: have
		// them on disk, so that their writeback does not compete with
		// the output's.
		if _, err := l.Flush(); err != nil {
			b.Fatal(err)
		}
		size := l.Size()
		b.SetBytes(size)
		start := time.Now()
		readOnce(b, l)
		readTime += time.Since(start)
		b.StartTimer()
		start = time.Now()
		st, err := l.Clean(testNow, CleanOptions{Limit: math.MaxInt64}, true)
		cleanTime += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if st.Keys == 0 || st.Rewritten == 0 {
			b.Fatalf("stats %+v", st)
		}
		b.StopTimer()
		if i == 0 {
			b.Logf("%d MiB, %d keys: read %v, clean %v (map %v from %d key files, rewrite %v, of which fsync %v; %d -> %d bytes, %d of %d records kept)",
				size>>20, keys, readTime, cleanTime, st.MapTime, st.KeyFiles, st.RewriteTime, st.SyncTime, st.BytesRead, st.BytesWritten, st.RecordsKept, st.RecordsRead)
		}
		l.Close()
		os.RemoveAll(l.Path())
		b.StartTimer()
	}
	b.ReportMetric(float64(readTime.Milliseconds())/float64(b.N), "read-ms")
	b.ReportMetric(cleanTime.Seconds()/readTime.Seconds(), "x-read")
}

// BenchmarkCleanMapPass times the cleaner's first pass alone (the key map
// over SAMSA_BENCH_CLEAN_MIB of dirty segments, mapped and unmapped each
// time) against one read of the same files, for working on that pass
// without the noise of the rewrite's writes and fsync.
func BenchmarkCleanMapPass(b *testing.B) {
	mib := envInt("SAMSA_BENCH_CLEAN_MIB", 64)
	keys := envInt("SAMSA_BENCH_CLEAN_KEYS", 100000)
	c := compactConfig()
	c.SegmentBytes, c.IndexIntervalBytes, c.SegmentIndexBytes = 64<<20, 4096, 10<<20
	_, l := newTestLog(b, c)
	fillKeyed(b, l, mib, keys)
	if _, err := l.Flush(); err != nil {
		b.Fatal(err)
	}
	segs, _, _ := l.snapshotState()
	segs = segs[:len(segs)-1]
	var readTime, mapTime time.Duration
	b.SetBytes(l.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		readOnce(b, l)
		readTime += time.Since(start)
		cl := &cleaner{l: l, cfg: c, keys: newKeyMap(), noted: make(map[*segment][2]int), mapped: make(map[*segment]mapping),
			opt: CleanOptions{MaxMapBytes: defaultMaxMapBytes << 4}}
		start = time.Now()
		if _, err := cl.buildMap(segs, 0); err != nil {
			b.Fatal(err)
		}
		cl.unmapAll()
		mapTime += time.Since(start)
		if cl.keys.len() < keys*99/100 || cl.keys.len() > keys {
			b.Fatalf("%d keys mapped, want about %d", cl.keys.len(), keys)
		}
	}
	b.ReportMetric(float64(readTime.Milliseconds())/float64(b.N), "read-ms")
	b.ReportMetric(float64(mapTime.Milliseconds())/float64(b.N), "map-ms")
}
