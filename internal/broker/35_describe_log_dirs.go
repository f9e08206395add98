package broker

// DescribeLogDirs, key 35, v0-v5.
//   v1: throttle.  v2: flexible.  v3: top-level error code.
//   v4: total and usable bytes of the directory.
//   v5: whether the directory is cordoned (never, here).
// Offset lag is 0: a leader's log is never behind itself.
// ACLs: DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED, no directories).

import (
	"path/filepath"
	"syscall"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

func handleDescribeLogDirs(rc *reqCtx, req *kmsg.DescribeLogDirsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !rc.authorizeCluster(acl.OpDescribe) {
		resp.ErrorCode = errClusterAuth // v3+; before, just no directories
		return resp
	}
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir, _ = filepath.Abs(b.parts.DataDir())
	var st syscall.Statfs_t
	if err := syscall.Statfs(b.parts.DataDir(), &st); err == nil {
		dir.TotalBytes = int64(st.Blocks) * int64(st.Bsize)
		dir.UsableBytes = int64(st.Bavail) * int64(st.Bsize)
	}
	want := func(string, int32) bool { return true }
	if req.Topics != nil {
		set := map[partKey]bool{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				set[partKey{t.Topic, p}] = true
			}
		}
		want = func(t string, p int32) bool { return set[partKey{t, p}] }
	}
	byTopic := map[string]int{}
	for _, part := range b.parts.All() {
		if !want(part.Topic, part.Index) {
			continue
		}
		i, ok := byTopic[part.Topic]
		if !ok {
			t := kmsg.NewDescribeLogDirsResponseDirTopic()
			t.Topic = part.Topic
			dir.Topics = append(dir.Topics, t)
			i = len(dir.Topics) - 1
			byTopic[part.Topic] = i
		}
		p := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
		p.Partition, p.Size = part.Index, part.Log().Size()
		dir.Topics[i].Partitions = append(dir.Topics[i].Partitions, p)
	}
	resp.Dirs = []kmsg.DescribeLogDirsResponseDir{dir}
	return resp
}
