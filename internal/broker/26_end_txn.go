package broker

// EndTxn, key 26, v0-v5.
//   v1: no change.  v2: PRODUCER_FENCED (older versions get
//   INVALID_PRODUCER_EPOCH).  v3: flexible.  v4: TRANSACTION_ABORTABLE.
//   v5: transactions V2 (KIP-890 part 2): every end bumps the producer
//   epoch; the response carries the producer id and epoch to use next.
// Answered once the decision (PrepareCommit or PrepareAbort) is durable in
// __transaction_state; the markers are written afterwards.
// ACLs: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).

import "github.com/twmb/franz-go/pkg/kmsg"

func handleEndTxn(rc *reqCtx, p *pending, req kmsg.Request) {
	er := req.(*kmsg.EndTxnRequest)
	if !rc.txnIDAllowed(er.TransactionalID) {
		resp := er.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = errTxnAuth, -1, -1
		p.complete(resp)
		return
	}
	rc.broker().txns.EndTxn(er, func(resp *kmsg.EndTxnResponse) { p.complete(resp) })
}
