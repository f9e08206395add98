package storage

// InTransaction reports whether producer pid has an open transaction in
// this log at epoch: its batches need no check with the transaction
// coordinator (KIP-890 verification happens on a transaction's first
// batch in a partition).
func (l *Log) InTransaction(pid int64, epoch int16) bool {
	l.producers.mu.RLock()
	defer l.producers.mu.RUnlock()
	e := l.producers.producers[pid]
	return e != nil && e.epoch == epoch && e.txnFirstOffset >= 0
}
