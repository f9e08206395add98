package group

// PartitionOf is the __consumer_offsets partition holding group's state
// (the partition a transaction adds for AddOffsetsToTxn).
func (r *Runtime) PartitionOf(group string) int32 { return r.partitionOf(group) }
