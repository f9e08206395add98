package storage

import (
	"bytes"
	"os"
	"path/filepath"
)

// After a kill -9 (but not an OS crash), everything the broker wrote is
// still in the page cache or on disk exactly as written: the only damage a
// killed process can leave is a batch cut short at the end of a segment,
// by a write that did not complete. Recovery then needs only to walk the
// batch headers to find the log end and rebuild indexes; the CRC of every
// batch after the recovery point, which is what makes recovery slow, can
// only catch the damage of an OS crash or power loss (pages written out in
// the wrong order, or never) and of the disk itself (which no recovery
// check covers for data before the recovery point either).
//
// The log dir records the kernel's boot id (a random id the kernel makes
// at every boot) in bootFile when it opens. An unclean open that finds the
// current boot id there knows the OS has not restarted since the last
// broker wrote the logs, and skips the CRC; any other unclean open (after
// a reboot, a missing or unreadable file, a dir copied from elsewhere)
// checks every batch after the recovery point, as Kafka does.
const bootFile = ".samsa_boot"

// bootID reads the kernel's boot id; it is empty where there is none, and
// then every unclean open checks CRCs. Tests replace it.
var bootID = func() []byte {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return nil
	}
	return bytes.TrimSpace(b)
}

// sameBoot reports whether the log dir at path was last opened during the
// current boot.
func sameBoot(path string, current []byte) bool {
	if len(current) == 0 {
		return false
	}
	prev, err := os.ReadFile(filepath.Join(path, bootFile))
	return err == nil && bytes.Equal(bytes.TrimSpace(prev), current)
}

// recordBoot writes the current boot id to the log dir, durably, unless it
// is there already.
func recordBoot(path string, current []byte) error {
	if len(current) == 0 || sameBoot(path, current) {
		return nil
	}
	return writeFileAtomic(filepath.Join(path, bootFile), append(current, '\n'))
}
