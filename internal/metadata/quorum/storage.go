package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// ErrCorrupt is wrapped by errors about an unreadable Raft log or snapshot.
var ErrCorrupt = errors.New("corrupt raft storage")

// Files inside the quorum's directory.
const (
	logFile      = "raft.log"
	snapshotFile = "raft.snapshot"
)

// Frame kinds in raft.log.
const (
	kindEntry     byte = 1
	kindHardState byte = 2
)

// maxFrameBytes bounds one frame read from disk or the network, so a
// corrupt length cannot make the process allocate without limit. A
// snapshot of 100,000 partitions' metadata is about 20 MB.
const maxFrameBytes = 256 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// diskStorage is raft.MemoryStorage made durable: every entry and hard
// state handed to save is appended to raft.log as a frame
//
//	length uint32 | crc32c uint32 (of kind and payload) | kind uint8 | payload (protobuf)
//
// and fsynced; the latest snapshot is kept whole in raft.snapshot. On open
// the snapshot and then the frames are replayed into the memory storage; a
// later entry with an index already present replaces it and everything
// after it, as Raft's log truncation does.
type diskStorage struct {
	*raft.MemoryStorage
	fs  FS
	dir string
	f   File
}

// openStorage loads the storage in dir (creating it if absent). fresh
// reports that nothing was ever stored, so the caller bootstraps.
func openStorage(fsys FS, dir string) (s *diskStorage, fresh bool, err error) {
	if fsys == nil {
		fsys = osFS{}
	}
	if err := fsys.MkdirAll(dir); err != nil {
		return nil, false, err
	}
	s = &diskStorage{MemoryStorage: raft.NewMemoryStorage(), fs: fsys, dir: dir}
	snap, err := readSnapshot(fsys, filepath.Join(dir, snapshotFile))
	if err != nil {
		return nil, false, err
	}
	if snap != nil {
		if err := s.MemoryStorage.ApplySnapshot(snap); err != nil {
			return nil, false, fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
		}
	}
	f, err := fsys.OpenFile(filepath.Join(dir, logFile), os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, false, err
	}
	// The log file may have just been created: its directory entry is
	// durable only once the directory is synced (an fsync of the file
	// alone does not promise it), and without it a power cut could lose
	// the whole file with the votes and entries fsynced into it.
	if err := fsys.SyncDir(dir); err != nil {
		f.Close()
		return nil, false, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, false, err
	}
	good, err := s.replay(data)
	if err != nil {
		f.Close()
		return nil, false, err
	}
	if good != int64(len(data)) {
		// A torn or corrupt tail: a crash in the middle of an append, whose
		// frames were never fsynced and so never acknowledged to anyone.
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, false, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, false, err
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, false, err
	}
	s.f = f
	if err := s.coverSnapshot(snap); err != nil {
		f.Close()
		return nil, false, err
	}
	last, _ := s.LastIndex()
	hs, _, _ := s.InitialState()
	fresh = snap == nil && last == 0 && raft.IsEmptyHardState(hs)
	return s, fresh, nil
}

// coverSnapshot raises the stored hard state to what the snapshot proves.
// A snapshot received from the leader is written (and its file renamed
// into place) before the Ready's hard state is appended to raft.log; a
// crash between the two leaves a snapshot at index i beside a hard state
// whose commit index is below i, and the Raft library refuses to start
// from that ("state.commit is out of range"), so the node could never
// start again. A snapshot holds only committed entries, so the commit
// index is at least its index, and the term at least its term (a vote cast
// in an older term does not carry over, as when Raft moves to a new term;
// no vote in the new one was persisted, so none was sent).
func (s *diskStorage) coverSnapshot(snap *pb.Snapshot) error {
	if snap == nil {
		return nil
	}
	md := snap.GetMetadata()
	hs, _, _ := s.InitialState()
	if hs.GetCommit() >= md.GetIndex() && hs.GetTerm() >= md.GetTerm() {
		return nil
	}
	fixed := proto.Clone(hs).(*pb.HardState)
	if fixed.GetTerm() < md.GetTerm() {
		fixed.Term, fixed.Vote = proto.Uint64(md.GetTerm()), proto.Uint64(0)
	}
	if fixed.GetCommit() < md.GetIndex() {
		fixed.Commit = proto.Uint64(md.GetIndex())
	}
	return s.MemoryStorage.SetHardState(fixed)
}

// replay applies the intact frames of data and returns how many bytes
// they span.
func (s *diskStorage) replay(data []byte) (int64, error) {
	var pos int64
	for {
		kind, payload, n := nextFrame(data[pos:])
		if n == 0 {
			return pos, nil
		}
		switch kind {
		case kindEntry:
			e := &pb.Entry{}
			if err := proto.Unmarshal(payload, e); err != nil {
				return pos, nil // a frame whose CRC matched but does not decode: stop here
			}
			first, _ := s.FirstIndex()
			last, _ := s.LastIndex()
			if e.GetIndex() < first {
				break // covered by the snapshot
			}
			if e.GetIndex() > last+1 {
				return 0, fmt.Errorf("%w: %s: entry %d follows %d (a gap)", ErrCorrupt, logFile, e.GetIndex(), last)
			}
			if err := s.MemoryStorage.Append([]*pb.Entry{e}); err != nil {
				return 0, fmt.Errorf("%w: %s: entry %d: %v", ErrCorrupt, logFile, e.GetIndex(), err)
			}
		case kindHardState:
			hs := &pb.HardState{}
			if err := proto.Unmarshal(payload, hs); err != nil {
				return pos, nil
			}
			if err := s.MemoryStorage.SetHardState(hs); err != nil {
				return 0, err
			}
		default:
			return pos, nil
		}
		pos += int64(n)
	}
}

// nextFrame parses one frame at the start of b; n is 0 when b holds no
// complete, intact frame.
func nextFrame(b []byte) (kind byte, payload []byte, n int) {
	if len(b) < 9 {
		return 0, nil, 0
	}
	size := binary.BigEndian.Uint32(b)
	if size < 1 || size > maxFrameBytes || int64(size)+8 > int64(len(b)) {
		return 0, nil, 0
	}
	body := b[8 : 8+size]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return 0, nil, 0
	}
	return body[0], body[1:], int(size) + 8
}

func appendFrame(buf []byte, kind byte, m proto.Message) ([]byte, error) {
	payload, err := proto.Marshal(m)
	if err != nil {
		return buf, err
	}
	var hdr [9]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(payload)+1))
	hdr[8] = kind
	crc := crc32.Update(crc32.Checksum(hdr[8:9], castagnoli), castagnoli, payload)
	binary.BigEndian.PutUint32(hdr[4:], crc)
	buf = append(buf, hdr[:]...)
	return append(buf, payload...), nil
}

// save makes a Ready's hard state and entries durable: one write, one
// fsync. It must return before the Ready's messages are sent.
func (s *diskStorage) save(hs *pb.HardState, ents []*pb.Entry) error {
	var buf []byte
	var err error
	for _, e := range ents {
		if buf, err = appendFrame(buf, kindEntry, e); err != nil {
			return err
		}
	}
	if hs != nil && !raft.IsEmptyHardState(hs) {
		if buf, err = appendFrame(buf, kindHardState, hs); err != nil {
			return err
		}
	}
	if len(buf) == 0 {
		return nil
	}
	if _, err := s.f.Write(buf); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	if len(ents) > 0 {
		if err := s.MemoryStorage.Append(ents); err != nil {
			return err
		}
	}
	if hs != nil && !raft.IsEmptyHardState(hs) {
		return s.MemoryStorage.SetHardState(hs)
	}
	return nil
}

// saveSnapshot installs a snapshot (taken here or received from the
// leader): the snapshot file is replaced whole, then the log file is
// rewritten with what follows the snapshot.
func (s *diskStorage) saveSnapshot(snap *pb.Snapshot, received bool) error {
	if err := writeSnapshot(s.fs, filepath.Join(s.dir, snapshotFile), snap); err != nil {
		return err
	}
	if received {
		if err := s.MemoryStorage.ApplySnapshot(snap); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
			return err
		}
	} else if err := s.MemoryStorage.Compact(snap.GetMetadata().GetIndex()); err != nil && !errors.Is(err, raft.ErrCompacted) {
		return err
	}
	return s.rewriteLog()
}

// rewriteLog replaces raft.log with the hard state and the entries the
// memory storage still holds.
func (s *diskStorage) rewriteLog() error {
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	var ents []*pb.Entry
	if last >= first {
		var err error
		if ents, err = s.Entries(first, last+1, ^uint64(0)); err != nil {
			return err
		}
	}
	hs, _, _ := s.InitialState()
	var buf []byte
	var err error
	for _, e := range ents {
		if buf, err = appendFrame(buf, kindEntry, e); err != nil {
			return err
		}
	}
	if !raft.IsEmptyHardState(hs) {
		if buf, err = appendFrame(buf, kindHardState, hs); err != nil {
			return err
		}
	}
	path := filepath.Join(s.dir, logFile)
	if err := writeFileSync(s.fs, path+".tmp", buf); err != nil {
		return err
	}
	if err := s.fs.Rename(path+".tmp", path); err != nil {
		return err
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return err
	}
	f, err := s.fs.OpenFile(path, os.O_RDWR)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return err
	}
	s.f.Close()
	s.f = f
	return nil
}

func (s *diskStorage) close() error { return s.f.Close() }

func readSnapshot(fsys FS, path string) (*pb.Snapshot, error) {
	data, err := fsys.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	kind, payload, n := nextFrame(data)
	if n == 0 || n != len(data) || kind != kindSnapshot {
		return nil, fmt.Errorf("%w: %s is damaged (%d bytes)", ErrCorrupt, path, len(data))
	}
	snap := &pb.Snapshot{}
	if err := proto.Unmarshal(payload, snap); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	return snap, nil
}

const kindSnapshot byte = 3

func writeSnapshot(fsys FS, path string, snap *pb.Snapshot) error {
	buf, err := appendFrame(nil, kindSnapshot, snap)
	if err != nil {
		return err
	}
	if err := writeFileSync(fsys, path+".tmp", buf); err != nil {
		return err
	}
	if err := fsys.Rename(path+".tmp", path); err != nil {
		return err
	}
	return fsys.SyncDir(filepath.Dir(path))
}

func writeFileSync(fsys FS, path string, data []byte) error {
	f, err := fsys.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
