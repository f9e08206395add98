package broker

// ListTransactions, key 66, v0-v2.
//   v1: duration filter (transactions running longer than it).
//   v2: transactional id pattern (a regular expression).
// Each broker lists the transactions it coordinates; the admin client
// asks every broker and merges, as with Kafka.
// ACLs: only the transactional ids with DESCRIBE are listed.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func handleListTransactions(rc *reqCtx, req *kmsg.ListTransactionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	for _, s := range req.StateFilters {
		known := false
		for _, name := range kmsg.TransactionStateStrings() {
			known = known || name == s
		}
		if !known {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, s)
		}
	}
	if req.Version < 1 {
		req.DurationFilterMillis = -1
	}
	if req.DurationFilterMillis < -1 {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp
	}
	resp.TransactionStates = rc.broker().txns.List(req)
	listTransactionsAuth(rc, resp)
	return resp
}
