package storage

import (
	"fmt"
	"os"
	"slices"
	"sort"
)

// dirNames is one listing of a partition directory, sorted. Opening a log
// takes it once and answers every "which files are there" question from
// it (stray files, interrupted swaps, segments, snapshots, optional
// files), instead of reading the directory once per question: with
// 100,000 partitions the repeated listings were half the CPU time of a
// restart.
type dirNames []string

// listNames reads the names in dir without stat-ing them.
func listNames(dir string) (dirNames, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", dir, err)
	}
	return readNames(f, dir)
}

// listNamesIn is listNames for a directory already opened as root.
func listNamesIn(root *os.Root) (dirNames, error) {
	f, err := root.Open(".")
	if err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", root.Name(), err)
	}
	return readNames(f, root.Name())
}

func readNames(f *os.File, dir string) (dirNames, error) {
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", dir, err)
	}
	sort.Strings(names)
	return names, nil
}

// has reports whether name is in the listing.
func (n dirNames) has(name string) bool {
	_, ok := slices.BinarySearch(n, name)
	return ok
}

// offsets returns the offsets of the "<20 digits><suffix>" names,
// ascending (zero-padded names sort as their offsets do).
func (n dirNames) offsets(suffix string) []int64 {
	var out []int64
	for _, name := range n {
		if off, ok := parseOffsetName(name, suffix); ok {
			out = append(out, off)
		}
	}
	return out
}

// without returns the listing less the names drop reports.
func (n dirNames) without(drop func(string) bool) dirNames {
	return slices.DeleteFunc(n, drop)
}
