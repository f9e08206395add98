package broker

// EndTxn, key 26, v0-v5.
//   v1: no change.  v2: PRODUCER_FENCED (older versions get
//   INVALID_PRODUCER_EPOCH).  v3: flexible.  v4: TRANSACTION_ABORTABLE.
//   v5: transactions V2 (KIP-890 part 2): every end bumps the producer
//   epoch; the response carries the producer id and epoch to use next.
// Answered once the decision (PrepareCommit or PrepareAbort) is durable in
// __transaction_state; the markers are written afterwards.

import "github.com/twmb/franz-go/pkg/kmsg"

func handleEndTxn(rc *reqCtx, p *pending, req kmsg.Request) {
	rc.broker().txns.EndTxn(req.(*kmsg.EndTxnRequest), func(resp *kmsg.EndTxnResponse) { p.complete(resp) })
}
