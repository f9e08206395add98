package broker

// Produce, key 0, v0-v13.
//   v0-v2: message sets of magic 0/1, up-converted to one v2 batch before
//   they are stored (as Kafka 3 does; Kafka 4 removed these versions).
//   v1: throttle.  v2: log append time.
//   v3: record batch v2 only, transactional id.  v5: log start offset.
//   v8: per-record errors and an error message.  v9: flexible.
//   v10-v11: current leader hints (KIP-951).  v11+: TRANSACTION_ABORTABLE.
//   v12: transactions V2: a transactional batch adds its partition to the
//   transaction itself (KIP-890 part 2).
//   v13: topics by id (KIP-516).
// ACLs: WRITE on each topic; a request with transactional batches also
// WRITE on its transactional id (authorize.go, produceAuth).

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/partition"
	"github.com/samsa-streaming/samsa/internal/record"
)

var errMultipleBatches = errors.New("a v2 produce must carry exactly one record batch per partition")

func handleProduce(rc *reqCtx, p *pending, reqAny kmsg.Request) {
	req := reqAny.(*kmsg.ProduceRequest)
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	im := b.meta.Image()
	now := b.now()

	// Allocate every response entry first: group-commit callbacks write
	// into them from the flusher goroutine, so they must not move.
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		resp.Topics[i] = kmsg.NewProduceResponseTopic()
		resp.Topics[i].Topic, resp.Topics[i].TopicID = rt.Topic, rt.TopicID
		resp.Topics[i].Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = rt.Partitions[j].Partition
			resp.Topics[i].Partitions[j] = rp
		}
	}

	waitAll := req.Acks == -1
	var outstanding atomic.Int64
	outstanding.Store(1) // held until every append is issued
	var anyErr atomic.Bool
	var hinted atomic.Bool // some partition carries a KIP-951 leader hint
	var timer atomic.Pointer[time.Timer]
	finish := func() {
		if outstanding.Add(-1) != 0 {
			return
		}
		if t := timer.Load(); t != nil {
			t.Stop()
		}
		if req.Acks == 0 {
			// Kafka sends nothing for acks=0 and closes the
			// connection on error, the only way the client can learn.
			p.close = anyErr.Load()
			p.complete(nil)
			return
		}
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if rp := &resp.Topics[i].Partitions[j]; rp.ErrorCode != 0 {
					rp.BaseOffset = -1
				}
			}
		}
		if hinted.Load() && req.Version >= 10 {
			ids := map[int32]bool{}
			for _, t := range resp.Topics {
				for _, rp := range t.Partitions {
					if rp.ErrorCode == kerr.NotLeaderForPartition.Code && rp.CurrentLeader.LeaderID >= 0 {
						ids[rp.CurrentLeader.LeaderID] = true
					}
				}
			}
			resp.Brokers = b.produceEndpoints(im, ids, rc.c.listener.Name)
		}
		p.complete(resp)
	}

	nParts := 0
	for i := range req.Topics {
		nParts += len(req.Topics[i].Partitions)
	}
	jobs := make([]appendJob, 0, nParts)
	var jobBytes int
	var guards []ackGuard // acks=all partitions, for the request timeout

	auth := newProduceAuth(rc, req) // nil: no authorizer
	for i := range req.Topics {
		rt := &req.Topics[i]
		name, unknownCode := produceTopicName(im, req.Version, rt)
		if auth != nil {
			unknownCode = auth.check(rt, name, unknownCode)
		}
		for j := range rt.Partitions {
			rp := &resp.Topics[i].Partitions[j]
			if unknownCode != 0 {
				rp.ErrorCode = unknownCode
				anyErr.Store(true)
				continue
			}
			part, code := b.leaderFor(im, name, rp.Partition)
			if code != 0 {
				rp.ErrorCode = code
				if code == kerr.NotLeaderForPartition.Code {
					if l, e, ok := b.currentLeader(im, name, rp.Partition); ok {
						rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = l, e
						hinted.Store(true)
					}
				}
				anyErr.Store(true)
				continue
			}
			var done func(error)
			if waitAll {
				outstanding.Add(1)
				answered := new(atomic.Bool)
				guards = append(guards, ackGuard{answered, rp})
				done = func(err error) {
					if !answered.CompareAndSwap(false, true) {
						return // timed out already
					}
					if err != nil {
						// BaseOffset is set to -1 by finish: produceOne
						// may still be writing it on another goroutine.
						rp.ErrorCode = errCode(err)
						anyErr.Store(true)
					}
					finish()
				}
			}
			records := rt.Partitions[j].Records
			jobs = append(jobs, appendJob{part: part, records: records, rp: rp, done: done})
			jobBytes += len(records)
		}
	}
	if len(jobs) > 0 && req.Version >= 3 {
		jobs = verifyTransactional(b, req, jobs, &anyErr)
	}
	runAppends(jobs, jobBytes, func(j *appendJob) {
		if err := produceOne(b, j.part, j.records, req.Version < 3, now, j.rp, j.done); err != nil {
			anyErr.Store(true)
		}
	})
	// Every batch is in the log (copied by write(2)) and the response
	// holds nothing of the request: the frame can go now rather than
	// after the fsync that group-commit waits for, so requests waiting
	// for one hold no memory and no budget.
	rc.c.releaseFrame(p, true)
	if len(guards) > 0 && req.TimeoutMillis > 0 && outstanding.Load() > 1 {
		// acks=all waits for the in-sync replicas at most the request's
		// timeout; partitions still waiting then get REQUEST_TIMED_OUT
		// (their records may still be committed later, as in Kafka).
		// finish stops the timer once every partition is answered.
		timer.Store(time.AfterFunc(time.Duration(req.TimeoutMillis)*time.Millisecond, func() {
			for _, g := range guards {
				if g.answered.CompareAndSwap(false, true) {
					g.rp.ErrorCode = kerr.RequestTimedOut.Code
					anyErr.Store(true)
					finish()
				}
			}
		}))
	}
	finish()
}

// ackGuard makes sure an acks=all partition is answered once: by its
// append's completion or by the request timeout, whichever comes first.
type ackGuard struct {
	answered *atomic.Bool
	rp       *kmsg.ProduceResponseTopicPartition
}

// appendJob is one partition's batch of a produce request.
type appendJob struct {
	part    *partition.Partition
	records []byte
	rp      *kmsg.ProduceResponseTopicPartition
	done    func(error)
}

// parallelAppendBytes is the size of a produce request from which its
// partitions are appended by several goroutines at once. Copying a batch
// into the page cache is most of a produce request's cost; one goroutine
// per connection would cap a client at one core however many partitions it
// writes, and queue its requests behind each other once that core is busy.
// Below this size the hand-off costs more than it saves.
const parallelAppendBytes = 128 << 10

// runAppends calls run for every job and returns when all have returned.
// Jobs go to up to GOMAXPROCS goroutines (this one among them) when there
// are several and they carry at least parallelAppendBytes. Each partition
// still sees its batches in request order: a request's appends all finish
// before the connection reads its next request, and a request naming the
// same partition twice is appended in order on one goroutine.
func runAppends(jobs []appendJob, bytes int, run func(*appendJob)) {
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	if workers < 2 || bytes < parallelAppendBytes || hasDuplicatePartition(jobs) {
		for i := range jobs {
			run(&jobs[i])
		}
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(jobs) {
				return
			}
			run(&jobs[i])
		}
	}
	// A panic on a helper goroutine is carried back and raised here, on
	// the connection's goroutine, whose recover closes only this
	// connection instead of the process.
	var (
		wg       sync.WaitGroup
		panicked atomic.Pointer[any]
	)
	for range workers - 1 {
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					panicked.CompareAndSwap(nil, &r)
				}
			}()
			work()
		})
	}
	work()
	wg.Wait()
	if r := panicked.Load(); r != nil {
		panic(*r)
	}
}

// hasDuplicatePartition reports whether a request names a partition twice
// (no client does).
func hasDuplicatePartition(jobs []appendJob) bool {
	seen := make(map[*partition.Partition]struct{}, len(jobs))
	for i := range jobs {
		if _, ok := seen[jobs[i].part]; ok {
			return true
		}
		seen[jobs[i].part] = struct{}{}
	}
	return false
}

func produceTopicName(im *metadata.Image, version int16, rt *kmsg.ProduceRequestTopic) (string, int16) {
	if version >= 13 {
		t, ok := im.TopicByID(rt.TopicID)
		if !ok {
			return "", kerr.UnknownTopicID.Code
		}
		return t.Name, 0
	}
	if _, ok := im.Topic(rt.Topic); !ok {
		return "", kerr.UnknownTopicOrPartition.Code
	}
	return rt.Topic, 0
}

// produceOne validates and appends one partition's batch, filling rp. done
// (may be nil) is called exactly once if and only if the append succeeds;
// on error it is not called and the error is already in rp.
func produceOne(b *Broker, part *partition.Partition, records []byte, legacy bool, now time.Time, rp *kmsg.ProduceResponseTopicPartition, done func(error)) (err error) {
	defer func() {
		if err != nil {
			rp.ErrorCode = errCode(err)
			rp.ErrorMessage = errMessage(err)
			rp.BaseOffset = -1
			if done != nil {
				done(nil) // the error is already recorded
			}
		}
	}()
	cfg := part.Config()
	if len(records) > int(cfg.MaxMessageBytes) {
		return kerr.MessageTooLarge
	}
	if legacy {
		if records, err = record.FromMessageSet(records); err != nil {
			return err
		}
	}
	var batch []byte
	if err := record.Split(records, func(x []byte) error {
		if batch != nil {
			return errMultipleBatches
		}
		batch = x
		return nil
	}); err != nil {
		if errors.Is(err, errMultipleBatches) {
			return kerr.InvalidRecord
		}
		return err
	}
	if batch == nil {
		return kerr.InvalidRecord
	}
	h, err := record.ValidateProduced(batch)
	if err != nil {
		return err
	}
	if h.IsControl() {
		return kerr.InvalidRecord // only the broker writes control batches
	}
	// A compacted topic refuses keyless records (Kafka's LogValidator):
	// the log checks that as it computes the key digests it keeps for the
	// cleaner, and fails with record.ErrNoKey (errCode: INVALID_RECORD).
	if cfg.LogAppendTime {
		record.SetLogAppendTime(batch, now.UnixMilli())
		rp.LogAppendTime = now.UnixMilli()
	}
	res, err := part.Append(batch, now, done)
	if err != nil {
		return err // Append did not call done; the deferred func does
	}
	rp.BaseOffset = res.BaseOffset
	rp.LogStartOffset = res.LogStartOffset
	b.metrics.produced(part.Topic, len(batch), h.NumRecords)
	return nil
}
